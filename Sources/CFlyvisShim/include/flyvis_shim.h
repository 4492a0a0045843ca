// Exposes to Swift what it cannot import from OpenMPI and HDF5: handle macros and
// macro constants (HDF5's type ids and property-list classes are macros that call H5open()).
#ifndef FLYVIS_SHIM_H
#define FLYVIS_SHIM_H

#include <mpi.h>
#include <hdf5.h>

// MPI handles
MPI_Comm fv_mpi_comm_world(void);
MPI_Comm fv_mpi_comm_null(void);
MPI_Datatype fv_mpi_float(void);
MPI_Datatype fv_mpi_double(void);
MPI_Datatype fv_mpi_int32(void);
MPI_Datatype fv_mpi_int64(void);
MPI_Datatype fv_mpi_uint8(void);
MPI_Op fv_mpi_sum(void);
MPI_Op fv_mpi_min(void);
MPI_Op fv_mpi_max(void);
MPI_Info fv_mpi_info_null(void);
MPI_Request fv_mpi_request_null(void);
MPI_Errhandler fv_mpi_errors_return(void);
int fv_mpi_any_source(void);
int fv_mpi_any_tag(void);
int fv_mpi_success(void);
int fv_mpi_max_error_string(void);
int fv_mpi_max_library_version_string(void);
int fv_mpi_thread_funneled(void);
/// MPI_STATUS_IGNORE is a null-pointer macro.
MPI_Status *fv_mpi_status_ignore(void);
int fv_mpi_status_source(const MPI_Status *s);
int fv_mpi_status_tag(const MPI_Status *s);

// HDF5 constants (each macro may call H5open())
hid_t fv_h5p_default(void);
hid_t fv_h5p_file_access(void);
hid_t fv_h5p_file_create(void);
hid_t fv_h5p_dataset_create(void);
hid_t fv_h5p_dataset_xfer(void);
hid_t fv_h5p_link_create(void);
hid_t fv_h5s_all(void);
unsigned fv_h5f_acc_trunc(void);
unsigned fv_h5f_acc_excl(void);
unsigned fv_h5f_acc_rdonly(void);
unsigned fv_h5f_acc_rdwr(void);
hid_t fv_h5t_native_float(void);
hid_t fv_h5t_native_double(void);
hid_t fv_h5t_native_int32(void);
hid_t fv_h5t_native_int64(void);
hid_t fv_h5t_native_uint8(void);
hid_t fv_h5t_c_s1(void);
hid_t fv_h5e_default(void);
hsize_t fv_h5s_unlimited(void);
int fv_h5_is_parallel(void);

#endif

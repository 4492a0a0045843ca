#include "flyvis_shim.h"

MPI_Comm fv_mpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Comm fv_mpi_comm_null(void) { return MPI_COMM_NULL; }
MPI_Datatype fv_mpi_float(void) { return MPI_FLOAT; }
MPI_Datatype fv_mpi_double(void) { return MPI_DOUBLE; }
MPI_Datatype fv_mpi_int32(void) { return MPI_INT32_T; }
MPI_Datatype fv_mpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype fv_mpi_uint8(void) { return MPI_UINT8_T; }
MPI_Op fv_mpi_sum(void) { return MPI_SUM; }
MPI_Op fv_mpi_min(void) { return MPI_MIN; }
MPI_Op fv_mpi_max(void) { return MPI_MAX; }
MPI_Info fv_mpi_info_null(void) { return MPI_INFO_NULL; }
MPI_Request fv_mpi_request_null(void) { return MPI_REQUEST_NULL; }
MPI_Errhandler fv_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
int fv_mpi_any_source(void) { return MPI_ANY_SOURCE; }
int fv_mpi_any_tag(void) { return MPI_ANY_TAG; }
int fv_mpi_success(void) { return MPI_SUCCESS; }
int fv_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
int fv_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
int fv_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
MPI_Status *fv_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
int fv_mpi_status_source(const MPI_Status *s) { return s->MPI_SOURCE; }
int fv_mpi_status_tag(const MPI_Status *s) { return s->MPI_TAG; }

hid_t fv_h5p_default(void) { return H5P_DEFAULT; }
hid_t fv_h5p_file_access(void) { return H5P_FILE_ACCESS; }
hid_t fv_h5p_file_create(void) { return H5P_FILE_CREATE; }
hid_t fv_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
hid_t fv_h5p_dataset_xfer(void) { return H5P_DATASET_XFER; }
hid_t fv_h5p_link_create(void) { return H5P_LINK_CREATE; }
hid_t fv_h5s_all(void) { return H5S_ALL; }
unsigned fv_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned fv_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
unsigned fv_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned fv_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
hid_t fv_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t fv_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t fv_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
hid_t fv_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t fv_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
hid_t fv_h5t_c_s1(void) { return H5T_C_S1; }
hid_t fv_h5e_default(void) { return H5E_DEFAULT; }
hsize_t fv_h5s_unlimited(void) { return H5S_UNLIMITED; }
int fv_h5_is_parallel(void) {
#ifdef H5_HAVE_PARALLEL
    return 1;
#else
    return 0;
#endif
}

#!/usr/bin/env bash
# Runs set-up, then the whole test suite in an optimised test build, including the
# multi-rank tests that launch real `mpirun` jobs. This is exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
# OpenMPI refuses to start as root unless told; CI runs as root in a container.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

echo "test: swift test (release, testable)"
swift test -c release -Xswiftc -enable-testing

echo "test: all tests passed"

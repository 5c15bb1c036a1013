// The backends this build has. The CUDA one exists only when configured with -DAIRLOCK_CUDA=ON.
#include "engine/backend.h"

#ifdef AIRLOCK_HAVE_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace airlock::engine {

Result<std::unique_ptr<EncoderBackend>> make_cuda_backend(const EncoderWeights& weights, const BackendOptions& options) {
#ifdef AIRLOCK_HAVE_CUDA
  return cuda::make_backend(weights, options);
#else
  (void)weights;
  (void)options;
  return Error(ErrorCode::kUnsupported, "this airlock was built without the CUDA backend (configure with -DAIRLOCK_CUDA=ON)");
#endif
}

bool cuda_backend_built() {
#ifdef AIRLOCK_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

bool cuda_backend_available() {
#ifdef AIRLOCK_HAVE_CUDA
  return cuda::device_count() > 0;
#else
  return false;
#endif
}

}  // namespace airlock::engine

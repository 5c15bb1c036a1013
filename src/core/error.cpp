#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace airlock {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kParse: return "parse_error";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kIo: return "io_error";
    case ErrorCode::kNetwork: return "network_error";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Error Error::with_context(std::string_view context) const {
  std::string message(context);
  message += ": ";
  message += message_;
  return Error(code_, std::move(message));
}

Error invalid_argument(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }
Error parse_error(std::string message) { return Error(ErrorCode::kParse, std::move(message)); }
Error not_found(std::string message) { return Error(ErrorCode::kNotFound, std::move(message)); }
Error io_error(std::string message) { return Error(ErrorCode::kIo, std::move(message)); }
Error internal_error(std::string message) { return Error(ErrorCode::kInternal, std::move(message)); }

Error errno_error(std::string_view what, int errnum) {
  std::string message(what);
  message += ": ";
  message += std::strerror(errnum);
  ErrorCode code = ErrorCode::kIo;
  switch (errnum) {
    case ENOENT: code = ErrorCode::kNotFound; break;
    case EACCES:
    case EPERM:
    case EROFS: code = ErrorCode::kPermissionDenied; break;
    case EEXIST: code = ErrorCode::kAlreadyExists; break;
    case ENOSPC:
    case EDQUOT: code = ErrorCode::kResourceExhausted; break;
    default: break;
  }
  return Error(code, std::move(message));
}

}  // namespace airlock

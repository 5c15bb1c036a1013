// Error: what went wrong, as a code a program can branch on and a message a person can act on.
#pragma once

#include <string>
#include <string_view>

namespace airlock {

// Codes are coarse on purpose: callers branch on the kind of failure (retry? user error?), the
// message carries the detail. The CLI maps them to exit codes, the servers to HTTP statuses.
enum class ErrorCode {
  kInvalidArgument,    // bad flags, bad values given by the user
  kParse,              // malformed input file (manifest, index, JSON, YAML)
  kNotFound,           // file, object, profile or version that does not exist
  kAlreadyExists,
  kPermissionDenied,   // authenticated but not allowed (HTTP 403, EACCES)
  kUnauthenticated,    // missing or wrong credentials (HTTP 401)
  kIo,                 // local file system failure
  kNetwork,            // connection refused/reset, DNS, TLS
  kTimeout,
  kUnavailable,        // server said try later (429, 503) and retries ran out
  kCorrupt,            // bytes whose hash or size does not match what was promised
  kResourceExhausted,  // disk full, limits exceeded
  kUnsupported,        // valid but not something airlock does (unknown schema version, ...)
  kCancelled,
  kInternal,           // a broken invariant inside airlock
};

std::string_view error_code_name(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns this error with `context` prepended ("reading manifest x.yaml: <message>"), so that
  // each layer adds where it was without losing what happened.
  Error with_context(std::string_view context) const;

 private:
  ErrorCode code_;
  std::string message_;
};

// Shorthands that read well at call sites: `return invalid_argument("--jobs must be >= 1")`.
Error invalid_argument(std::string message);
Error parse_error(std::string message);
Error not_found(std::string message);
Error io_error(std::string message);
Error internal_error(std::string message);

// An I/O error for a failed system call, with strerror(errnum) appended.
Error errno_error(std::string_view what, int errnum);

}  // namespace airlock

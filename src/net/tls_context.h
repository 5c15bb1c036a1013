// TlsServerContext: the OpenSSL server context of an HTTPS listener (certificate chain, private
// key, protocol floor), loaded once and shared by every connection of an HttpServer.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

struct ssl_ctx_st;

namespace airlock::net {

// What `--tls-cert` / `--tls-key` name: PEM files. The certificate file may hold the whole chain
// (leaf first); the key must not be encrypted.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
};

class TlsServerContext {
 public:
  // Errors name the file and say what is wrong with it (missing, not PEM, key does not match).
  static Result<std::shared_ptr<TlsServerContext>> create(const TlsOptions& options);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  ssl_ctx_st* native() const { return ctx_; }

 private:
  explicit TlsServerContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

// The oldest queued OpenSSL error of this thread as text ("" when none); clears the queue.
std::string take_openssl_error();

}  // namespace airlock::net

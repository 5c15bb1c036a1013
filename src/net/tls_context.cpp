#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <filesystem>

#include <fmt/format.h>

namespace airlock::net {
namespace {

// Offer only HTTP/1.1 over ALPN, so a client that prefers h2 knows at once what it gets.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kHttp11, sizeof(kHttp11), in, in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::string take_openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

Result<std::shared_ptr<TlsServerContext>> TlsServerContext::create(const TlsOptions& options) {
  for (const auto& [flag, path] : {std::pair{"--tls-cert", options.cert_file}, std::pair{"--tls-key", options.key_file}}) {
    std::error_code ec;
    if (path.empty()) return invalid_argument(fmt::format("TLS needs both a certificate and a key ({} is empty)", flag));
    if (!std::filesystem::is_regular_file(path, ec)) {
      return not_found(fmt::format("{} {}: no such file", flag, path));
    }
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return internal_error("cannot create a TLS context: " + take_openssl_error());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> owner(ctx, &SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Clients that close without close_notify are the norm for HTTP; renegotiation is a DoS lever.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("--tls-cert {}: not a usable PEM certificate ({})",
                                                          options.cert_file, take_openssl_error()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("--tls-key {}: not a usable unencrypted PEM private key ({})",
                                                          options.key_file, take_openssl_error()));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Error(ErrorCode::kInvalidArgument, fmt::format("--tls-key {} does not match the certificate in {}",
                                                          options.key_file, options.cert_file));
  }
  return std::shared_ptr<TlsServerContext>(new TlsServerContext(owner.release()));
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

}  // namespace airlock::net

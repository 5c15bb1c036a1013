#include "core/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "core/hex.h"

namespace airlock {

struct Hasher::State {
  EVP_MD_CTX* ctx = nullptr;
  const EVP_MD* md = nullptr;
};

Hasher::Hasher(HashAlgorithm algorithm) : state_(std::make_unique<State>()) {
  state_->md = algorithm == HashAlgorithm::kSha256 ? EVP_sha256() : EVP_sha1();
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, state_->md, nullptr) != 1) {
    // Only allocation failure gets here; there is nothing sensible to continue with.
    std::fprintf(stderr, "airlock: OpenSSL digest initialisation failed\n");
    std::abort();
  }
}

Hasher::~Hasher() {
  if (state_ && state_->ctx != nullptr) EVP_MD_CTX_free(state_->ctx);
}

Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&& other) noexcept {
  if (this != &other) {
    if (state_ && state_->ctx != nullptr) EVP_MD_CTX_free(state_->ctx);
    state_ = std::move(other.state_);
  }
  return *this;
}

void Hasher::update(std::span<const std::uint8_t> bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

void Hasher::update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Hasher::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &length);
  EVP_DigestInit_ex(state_->ctx, state_->md, nullptr);
  return to_hex(std::span<const std::uint8_t>(digest, length));
}

std::string sha256_hex(std::string_view bytes) {
  Hasher hasher(HashAlgorithm::kSha256);
  hasher.update(bytes);
  return hasher.finish_hex();
}

std::string sha1_hex(std::string_view bytes) {
  Hasher hasher(HashAlgorithm::kSha1);
  hasher.update(bytes);
  return hasher.finish_hex();
}

Hasher git_blob_sha1_hasher(std::uint64_t size) {
  Hasher hasher(HashAlgorithm::kSha1);
  std::string header = "blob " + std::to_string(size);
  header.push_back('\0');
  hasher.update(header);
  return hasher;
}

std::string git_blob_sha1_hex(std::string_view content) {
  Hasher hasher = git_blob_sha1_hasher(content.size());
  hasher.update(content);
  return hasher.finish_hex();
}

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Hasher hasher(HashAlgorithm::kSha256);
  std::vector<std::uint8_t> buffer(1 << 20);
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errno_error("cannot read " + path.string(), err);
    }
    if (n == 0) break;
    hasher.update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  return hasher.finish_hex();
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

}  // namespace airlock

#include "store/gcs_upload_sessions.h"

#include <fmt/format.h>

#include <ctime>

#include "core/env.h"
#include "core/file_io.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/redact.h"

namespace airlock::store {
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxRecordSize = 64 * 1024;

}  // namespace

fs::path GcsUploadSessions::default_dir() {
  if (auto dir = get_env("AIRLOCK_STATE_DIR"); dir && !dir->empty()) return fs::path(*dir) / "gcs-uploads";
  if (auto dir = get_env("XDG_STATE_HOME"); dir && !dir->empty()) return fs::path(*dir) / "airlock" / "gcs-uploads";
  if (auto home = get_env("HOME"); home && !home->empty()) {
    return fs::path(*home) / ".local" / "state" / "airlock" / "gcs-uploads";
  }
  return {};
}

fs::path GcsUploadSessions::record_path(const GcsUploadIdentity& upload) const {
  const std::string identity =
      fmt::format("{}\n{}\n{}\n{}\n{}", upload.endpoint, upload.bucket, upload.object, upload.size, upload.sha256);
  return dir_ / (sha256_hex(identity) + ".json");
}

std::optional<std::string> GcsUploadSessions::find(const GcsUploadIdentity& upload) const {
  if (!enabled() || upload.sha256.empty()) return std::nullopt;
  const fs::path path = record_path(upload);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto text = read_file_limited(path, kMaxRecordSize);
  auto json = text.ok() ? parse_json(*text, "GCS upload session record") : Result<Json>(text.error());
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const bool usable =
      json.ok() && json->is_object() && json->contains("session") && (*json)["session"].is_string() &&
      json->contains("created") && (*json)["created"].is_number_integer() &&
      json->value("object", "") == upload.object && json->value("sha256", "") == upload.sha256 &&
      now - (*json)["created"].get<std::int64_t>() < std::chrono::duration_cast<std::chrono::seconds>(kMaxAge).count();
  if (!usable) {
    log::debug("dropping the unusable or expired upload session record {}", path.string());
    forget(upload);
    return std::nullopt;
  }
  std::string session = (*json)["session"].get<std::string>();
  register_secret(session);
  return session;
}

Status GcsUploadSessions::save(const GcsUploadIdentity& upload, const std::string& session) const {
  if (!enabled() || upload.sha256.empty()) return ok_status();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return io_error(fmt::format("cannot create {}: {}", dir_.string(), ec.message()));
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return io_error(fmt::format("cannot make {} private: {}", dir_.string(), ec.message()));
  Json record = {{"object", upload.object},
                 {"bucket", upload.bucket},
                 {"size", upload.size},
                 {"sha256", upload.sha256},
                 {"created", static_cast<std::int64_t>(std::time(nullptr))},
                 {"session", session}};
  prune_expired();
  AIRLOCK_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::open(record_path(upload)));
  // 0600 before the first byte: the session URI is a capability.
  fs::permissions(writer.temp_path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
  if (ec) return io_error(fmt::format("cannot make {} private: {}", writer.temp_path().string(), ec.message()));
  AIRLOCK_TRY(writer.write(dump_json(record)));
  return writer.commit();
}

int GcsUploadSessions::prune_expired() const {
  if (!enabled()) return 0;
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - kMaxAge;
  int removed = 0;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    // Only this class's own files: <sha256>.json (and the temporary files of its writers).
    const std::string name = it->path().filename().string();
    if (name.size() < 64 || name.find_first_not_of("0123456789abcdef") < 64) continue;
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec) || it->last_write_time(file_ec) >= cutoff || file_ec) continue;
    if (fs::remove(it->path(), file_ec)) ++removed;
  }
  if (removed > 0) log::debug("removed {} expired GCS upload session record(s) from {}", removed, dir_.string());
  return removed;
}

void GcsUploadSessions::forget(const GcsUploadIdentity& upload) const {
  if (!enabled()) return;
  std::error_code ec;
  fs::remove(record_path(upload), ec);
}

}  // namespace airlock::store

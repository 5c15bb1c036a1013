// GcsUploadSessions: the session URIs of GCS resumable uploads, kept on local disk so that a push
// killed mid-upload (kill -9, a lost node) continues the same session when it runs again instead
// of sending the whole object anew. A session is good for about a week; the rerun asks it how
// far it got (PUT with "Content-Range: bytes */SIZE" -> 308 + Range) and continues from there.
//
// A session URI authorises the upload by itself (a bearer capability): records live in a 0700
// directory, each file 0600, and the URI is registered with redact and never logged. An upload
// is identified by endpoint, bucket, object name, size and sha256, so a changed file never
// continues an old session. Where: $AIRLOCK_STATE_DIR/gcs-uploads, else
// $XDG_STATE_HOME/airlock/gcs-uploads, else ~/.local/state/airlock/gcs-uploads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/result.h"

namespace airlock::store {

struct GcsUploadIdentity {
  std::string endpoint;
  std::string bucket;
  std::string object;
  std::uint64_t size = 0;
  std::string sha256;  // of the content; uploads without one are not kept
};

class GcsUploadSessions {
 public:
  // Records older than this are ignored and removed (Google expires sessions after a week).
  static constexpr std::chrono::hours kMaxAge{6 * 24};

  // `dir` empty: nothing is kept (every upload starts a new session).
  explicit GcsUploadSessions(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // The default directory (see above); empty when neither variable nor HOME is set.
  static std::filesystem::path default_dir();

  bool enabled() const { return !dir_.empty(); }
  // The session URI of an unfinished upload of exactly this content, if one was kept.
  std::optional<std::string> find(const GcsUploadIdentity& upload) const;
  // Keeps `session` for `upload` (0600 in a 0700 directory). Failing to keep it only costs a
  // resume, so callers log and go on. Also removes the records of uploads that never finished
  // and are past kMaxAge (their sessions are gone), so the directory does not grow forever.
  Status save(const GcsUploadIdentity& upload, const std::string& session) const;
  // Drops the record: the upload finished, or its session is gone.
  void forget(const GcsUploadIdentity& upload) const;

  std::filesystem::path record_path(const GcsUploadIdentity& upload) const;
  // Removes records last written more than kMaxAge ago; returns how many.
  int prune_expired() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace airlock::store

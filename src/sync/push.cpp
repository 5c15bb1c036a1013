#include "sync/push.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include "core/log.h"
#include "core/units.h"
#include "sync/tree_scan.h"

namespace airlock::sync {
namespace {

using Clock = std::chrono::steady_clock;

// Sizes first, so that the largest files start early and the tail of the run is short.
std::vector<std::size_t> largest_first(const std::vector<LocalEntry>& entries, const std::vector<std::size_t>& which) {
  std::vector<std::size_t> order = which;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return entries[a].entry.size > entries[b].entry.size; });
  return order;
}

}  // namespace

Json PushSummary::to_json() const {
  Json json;
  json["source"] = source;
  json["destination"] = destination;
  json["files"] = files;
  json["symlinks"] = symlinks;
  json["bytes"] = bytes;
  json["uploaded_files"] = uploaded_files;
  json["uploaded_bytes"] = uploaded_bytes;
  json["unchanged_files"] = unchanged_files;
  json["aborted_uploads"] = aborted_uploads;
  json["index_written"] = index_written;
  json["dry_run"] = dry_run;
  json["seconds"] = seconds;
  json["megabytes_per_second"] = seconds > 0 ? static_cast<double>(uploaded_bytes) / 1e6 / seconds : 0.0;
  if (dry_run) json["would_upload"] = to_upload;
  if (!skipped.empty()) json["skipped"] = skipped;
  return json;
}

std::string PushSummary::to_text() const {
  std::string out;
  if (dry_run) {
    for (const auto& path : to_upload) out += "would upload " + path + "\n";
    out +=
        fmt::format("dry run: {} of {} files ({} of {}) would be uploaded to {}; {} symlinks recorded in the index\n",
                    to_upload.size(), files, format_bytes(uploaded_bytes), format_bytes(bytes), destination, symlinks);
    return out;
  }
  for (const auto& item : skipped) out += "skipped " + item + "\n";
  if (uploaded_files == 0 && !index_written) {
    out += fmt::format("{} is up to date: {} files ({}) and {} symlinks, nothing uploaded\n", destination, files,
                       format_bytes(bytes), symlinks);
    return out;
  }
  out += fmt::format("pushed {} to {}: {} files uploaded ({}), {} unchanged, {} symlinks; index written; {} ({})\n",
                     source, destination, uploaded_files, format_bytes(uploaded_bytes), unchanged_files, symlinks,
                     format_duration(std::chrono::duration<double>(seconds)),
                     format_rate(seconds > 0 ? static_cast<double>(uploaded_bytes) / seconds : 0.0));
  if (aborted_uploads > 0)
    out += fmt::format("aborted {} unfinished multipart uploads left by an earlier push\n", aborted_uploads);
  return out;
}

Result<PushSummary> push(const std::filesystem::path& source, store::Store& store, const PushOptions& options) {
  const auto started = Clock::now();
  if (!store.capabilities().write) {
    return Error(ErrorCode::kUnsupported, store.display_uri() + " cannot be written to");
  }
  PushSummary summary;
  summary.source = source.string();
  summary.destination = store.display_uri();
  summary.dry_run = options.dry_run;

  ScanOptions scan_options;
  scan_options.follow_symlinks = options.follow_symlinks;
  AIRLOCK_ASSIGN_OR_RETURN(ScanResult scan, scan_tree(source, scan_options));
  summary.skipped = scan.skipped;
  std::vector<LocalEntry>& entries = scan.entries;
  std::vector<std::size_t> file_indexes;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].entry.type == EntryType::kFile) {
      file_indexes.push_back(i);
      summary.bytes += entries[i].entry.size;
    } else {
      ++summary.symlinks;
    }
  }
  summary.files = file_indexes.size();

  // What the store has now.
  auto old_index_result = read_store_index(store);
  std::optional<StoreIndex> old_index;
  if (old_index_result.ok()) {
    old_index = std::move(*old_index_result);
  } else if (old_index_result.error().code() == ErrorCode::kParse ||
             old_index_result.error().code() == ErrorCode::kInvalidArgument) {
    log::warn("the existing index is unusable and will be replaced: {}", old_index_result.error().message());
  } else {
    return old_index_result.error();
  }
  std::unordered_map<std::string, IndexEntry> old_entries;
  if (old_index) {
    for (const auto& e : old_index->entries) old_entries.emplace(e.path, e);
  }
  const store::Capabilities caps = store.capabilities();
  std::unordered_map<std::string, store::ObjectInfo> listed;
  if (caps.list) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store.list_all(""));
    for (auto& object : objects) listed.emplace(object.key, std::move(object));
  }

  // Hash every file and decide what to upload.
  std::vector<char> needs_upload(entries.size(), 0);
  {
    Progress progress("hashing", summary.bytes, file_indexes.size(), options.progress);
    TransferOptions read_options = options;
    const std::vector<std::size_t> order = largest_first(entries, file_indexes);
    Status status = run_parallel(order.size(), options.jobs, options.cancel, [&](std::size_t n) -> Status {
      const std::size_t i = order[n];
      LocalEntry& local = entries[i];
      AIRLOCK_ASSIGN_OR_RETURN(local.entry.sha256,
                               hash_local_file(local.source, local.entry.size, &progress, options.cancel));
      progress.add_items(1);
      std::optional<store::ObjectInfo> remote;
      if (caps.list) {
        auto it = listed.find(local.entry.path);
        if (it != listed.end()) remote = it->second;
      } else {
        AIRLOCK_ASSIGN_OR_RETURN(remote, store.stat(local.entry.path));
      }
      if (!remote || remote->size != local.entry.size || remote->symlink_target) {
        needs_upload[i] = 1;
        return ok_status();
      }
      auto old = old_entries.find(local.entry.path);
      if (old != old_entries.end() && old->second.type == EntryType::kFile && old->second.size == local.entry.size &&
          old->second.sha256 == local.entry.sha256) {
        return ok_status();
      }
      if (caps.sha256_metadata) {
        AIRLOCK_ASSIGN_OR_RETURN(std::optional<store::ObjectInfo> info, store.stat(local.entry.path));
        if (info && info->sha256 && *info->sha256 == local.entry.sha256) return ok_status();
        if (info && info->sha256) {
          needs_upload[i] = 1;
          return ok_status();
        }
      }
      // Same size, nothing that vouches for the bytes: read them (cheaper than sending them).
      auto remote_sha = hash_store_object(store, local.entry.path, local.entry.size, read_options, nullptr);
      if (!remote_sha.ok() || *remote_sha != local.entry.sha256) needs_upload[i] = 1;
      return ok_status();
    });
    progress.finish();
    AIRLOCK_TRY(status);
  }

  std::vector<std::size_t> uploads;
  for (std::size_t i : file_indexes) {
    if (needs_upload[i]) {
      uploads.push_back(i);
      summary.to_upload.push_back(entries[i].entry.path);
      summary.uploaded_bytes += entries[i].entry.size;
    }
  }
  summary.uploaded_files = uploads.size();
  summary.unchanged_files = summary.files - uploads.size();

  StoreIndex new_index;
  new_index.entries.reserve(entries.size());
  for (const auto& local : entries) new_index.entries.push_back(local.entry);
  const bool index_changed = !old_index || old_index->entries != new_index.entries;

  if (options.dry_run) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return summary;
  }
  if (uploads.empty() && !index_changed) {
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return summary;
  }

  // The old index describes objects about to change: take it away first, so that the prefix
  // reads as an unfinished push until the new index is written.
  if (old_index && !uploads.empty()) AIRLOCK_TRY(store.remove(kIndexKey));

  {
    Progress progress("pushing", summary.uploaded_bytes, uploads.size(), options.progress);
    std::vector<std::size_t> order = largest_first(entries, uploads);
    Status status = run_parallel(order.size(), options.jobs, options.cancel, [&](std::size_t n) -> Status {
      const LocalEntry& local = entries[order[n]];
      AIRLOCK_ASSIGN_OR_RETURN(store::ByteSource bytes, store::file_source(local.source.string()));
      if (bytes.size != local.entry.size) {
        return io_error(fmt::format("{} changed size while being pushed ({} bytes, now {})", local.source.string(),
                                    local.entry.size, bytes.size));
      }
      store::WriteOptions write;
      write.sha256 = local.entry.sha256;
      write.multipart_threshold = options.multipart_threshold;
      write.part_size = options.part_size;
      write.parallel = options.part_parallel;
      write.cancel = options.cancel;
      auto reported = std::make_shared<std::uint64_t>(0);
      write.on_progress = [&progress, reported](std::uint64_t sent) {
        // Parts finish on other threads; count each byte once.
        static std::mutex mutex;
        std::lock_guard lock(mutex);
        if (sent > *reported) {
          progress.add_bytes(sent - *reported);
          *reported = sent;
        }
      };
      Status written = store.write(local.entry.path, bytes, write);
      if (!written.ok()) return written.error().with_context("uploading " + local.entry.path);
      progress.add_items(1);
      return ok_status();
    });
    progress.finish();
    AIRLOCK_TRY(status);
  }

  auto aborted = store.abort_stale_uploads("");
  if (aborted.ok()) {
    summary.aborted_uploads = *aborted;
  } else {
    log::warn("could not clean up unfinished multipart uploads: {}", aborted.error().message());
  }

  store::WriteOptions index_write;
  index_write.content_type = "application/json";
  AIRLOCK_TRY(store.write_string(kIndexKey, serialize_index(new_index), index_write));
  summary.index_written = true;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace airlock::sync

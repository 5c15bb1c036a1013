#include "fetch/download_to_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include "cache/cache_lock.h"
#include "cache/checksums_blake3.h"
#include "cache/content_digest.h"
#include "cache/hub_layout.h"
#include "cache/hub_repo.h"
#include "cache/profile_record.h"
#include "core/file_io.h"
#include "core/file_lock.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/redact.h"
#include "core/thread_pool.h"
#include "core/units.h"
#include "core/uri.h"
#include "net/http_url.h"
#include "fetch/store_source.h"
#include "profiles/selection.h"

namespace airlock::fetch {
namespace fs = std::filesystem;
namespace {

using cache::Hub;
using cache::RepoId;

constexpr std::string_view kChecksumsFile = "checksums.blake3";

enum class TaskState { kPending, kCached, kDownloaded, kFailed };

// One distinct file of the cache that the chosen profiles need.
struct Task {
  SourceRef source;
  RepoId repo;
  std::string revision;  // what the source names (NGC version, HF revision)
  std::string snapshot;  // the snapshot directory (NGC version, HF commit once known, files: an id)
  std::string file;      // path inside the snapshot
  std::string local_path;
  cache::Expected expected;
  std::string blob;  // known up front for Hugging Face (the etag); else set after the download
  std::string lock_key;
  std::optional<RemoteFile> remote;  // plain URLs: what the probe found
  store::Store* store = nullptr;     // object-store sources: the store of the object's folder
  std::optional<StoreObject> object;  // and what its stat found
  bool needs_digest = false;         // a cache hit whose sha256 is not known yet
  bool is_checksums = false;

  TaskState state = TaskState::kPending;
  cache::Digests digests;
  std::optional<Error> error;
  std::uint64_t transferred = 0;
  std::uint64_t resumed = 0;

  std::string display() const { return file; }
};

std::string short_hash(std::string_view text, std::size_t length = 32) { return sha256_hex(text).substr(0, length); }

// A files-hub repo name for a URL host: letters, digits, '.', '_' and '-' only.
std::string host_repo_name(const Uri& uri) {
  std::string name = uri.host + (uri.port ? "_" + std::to_string(*uri.port) : "");
  std::string out;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_';
    char mapped = ok ? c : '_';
    if (mapped == '-' && !out.empty() && out.back() == '-') continue;
    out += mapped;
  }
  while (!out.empty() && (out.front() == '.' || out.front() == '_')) out.erase(out.begin());
  if (out.empty() || out == "." || out == "..") out = "host";
  return out;
}

// A files-hub repo name for an object store's bucket (or host): "s3_models".
std::string store_repo_name(const SourceRef& source) {
  auto uri = parse_uri(source.url);
  std::string scheme = uri.ok() ? uri->scheme : std::string("store");
  return scheme + "_" + (uri.ok() ? host_repo_name(*uri) : std::string("host"));
}

void discard_any_partial(const fs::path& partial) {
  discard_partial(partial);
  discard_store_partial(partial);
}

std::string basename_of(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Free bytes on the file system that holds `path` (or its nearest existing ancestor).
std::optional<std::uint64_t> free_bytes(fs::path path) {
  std::error_code ec;
  while (!path.empty() && !fs::exists(path, ec)) path = path.parent_path();
  if (path.empty()) path = ".";
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

// Copies a local file into `partial`, hashing on the way.
Result<DownloadOutcome> copy_local(const fs::path& source, const fs::path& partial, const cache::DigestNeeds& needs,
                                   Progress* progress, bool sync) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno_error("cannot open " + source.string(), errno);
  AIRLOCK_TRY(make_directories(partial.parent_path()));
  int out = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return errno_error("cannot create " + partial.string(), err);
  }
  cache::ContentHasher hasher(needs);
  std::vector<std::uint8_t> buffer(4u << 20);
  Status status = ok_status();
  while (status.ok()) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = errno_error("cannot read " + source.string(), errno);
      break;
    }
    if (n == 0) break;
    hasher.update(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
    const std::uint8_t* p = buffer.data();
    std::size_t left = static_cast<std::size_t>(n);
    while (left > 0) {
      ssize_t w = ::write(out, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        status = errno_error("cannot write " + partial.string(), errno);
        break;
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    if (progress != nullptr) progress->add_bytes(static_cast<std::uint64_t>(n));
  }
  if (status.ok() && sync && ::fdatasync(out) != 0) status = errno_error("cannot flush " + partial.string(), errno);
  ::close(in);
  ::close(out);
  if (!status.ok()) return std::move(status).error();
  DownloadOutcome outcome;
  outcome.digests = hasher.finish();
  return outcome;
}

class Downloader {
 public:
  Downloader(const profiles::Manifest& manifest, const std::vector<SelectedProfile>& selected, const DownloadOptions& options)
      : manifest_(manifest), selected_(selected), options_(options), layout_(options.cache_root) {}

  Result<DownloadSummary> run() {
    auto started = std::chrono::steady_clock::now();
    summary_.cache_root = layout_.root().string();
    AIRLOCK_TRY(plan());
    AIRLOCK_TRY(check_destinations());
    // Nothing has been written until here: a hostile manifest is refused whole.
    AIRLOCK_ASSIGN_OR_RETURN(auto use_lock, cache::CacheUseLock::shared(layout_));
    (void)use_lock;
    for (const SelectedProfile& p : selected_) {
      log::info("Downloading contents for profile {} ({})", p.profile->id, p.description);
      std::string tags;
      for (const auto& [key, value] : p.profile->tags) tags += fmt::format("{}\"{}\": \"{}\"", tags.empty() ? "" : ", ", key, value);
      log::debug("profile {} tags: {{{}}}", p.profile->id, tags);
    }
    load_known_digests();
    for (Task& task : tasks_) check_cached(task);

    AIRLOCK_ASSIGN_OR_RETURN(auto http, net::HttpClient::create(http_options()));
    http_ = std::move(http);
    ngc_.emplace(*http_, options_.ngc);
    hf_.emplace(*http_, options_.hf);
    stores_.emplace(store_config());

    resolve();
    AIRLOCK_TRY(check_free_space());
    fetch_all();
    write_records();

    summary_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    summary_.files = tasks_.size();
    for (const Task& task : tasks_) {
      summary_.bytes += task.digests.size;
      summary_.bytes_downloaded += task.transferred;
      summary_.bytes_resumed += task.resumed;
      switch (task.state) {
        case TaskState::kCached:
          ++summary_.cached;
          break;
        case TaskState::kDownloaded:
          ++summary_.downloaded;
          break;
        default:
          ++summary_.failed;
          // One refused key fails every file the same way: say it once.
          if (task.error && std::none_of(summary_.errors.begin(), summary_.errors.end(), [&](const Error& e) {
                return e.message() == task.error->message();
              })) {
            summary_.errors.push_back(*task.error);
          }
          break;
      }
    }
    return std::move(summary_);
  }

 private:
  net::HttpClientOptions http_options() const {
    net::HttpClientOptions http = options_.http;
    http.max_transfers = std::max(1, options_.jobs);
    http.max_transfers_per_host = std::max(1, options_.jobs);
    return http;
  }

  store::StoreConfig store_config() const {
    store::StoreConfig config = options_.store;
    if (config.ca_bundle.empty()) config.ca_bundle = options_.http.ca_bundle;
    config.insecure = config.insecure || options_.http.insecure;
    config.max_transfers = std::max(1, options_.jobs);
    return config;
  }

  // Turns the profiles' files into distinct tasks, checking everything that will name a path.
  Status plan() {
    std::map<std::string, std::size_t> by_key;
    users_.resize(selected_.size());
    for (std::size_t p = 0; p < selected_.size(); ++p) {
      const profiles::Profile& profile = *selected_[p].profile;
      if (Status valid = cache::validate_profile_id(profile.id); !valid.ok()) {
        return valid.error().with_context(fmt::format("profile at {}", profile.location));
      }
      std::set<std::string> paths;
      for (const profiles::ProfileFile& file : profile.files) {
        std::string where = fmt::format("profile {} file '{}'", profile.id, file.path);
        if (Status valid = validate_relative_path(file.path, "workspace file path"); !valid.ok()) {
          return valid.error().with_context(where);
        }
        paths.insert(file.path);
        auto parsed = parse_source_uri(file.uri);
        if (!parsed.ok()) return parsed.error().with_context(where);
        AIRLOCK_ASSIGN_OR_RETURN(Task task, make_task(*parsed, file));
        std::string key = fmt::format("{}\n{}\n{}\n{}", cache::hub_name(task.repo.hub), task.repo.name, task.revision, task.file);
        auto [it, inserted] = by_key.emplace(key, tasks_.size());
        if (inserted) {
          tasks_.push_back(std::move(task));
        } else {
          Task& existing = tasks_[it->second];
          // Two manifest entries for one file must not promise different contents.
          if (task.expected.sha256 && existing.expected.sha256 && *task.expected.sha256 != *existing.expected.sha256) {
            return invalid_argument(fmt::format("{}: {} is listed elsewhere in the manifest with another sha256", where, file.uri));
          }
          if (!existing.expected.sha256) existing.expected.sha256 = task.expected.sha256;
          if (!existing.expected.size) existing.expected.size = task.expected.size;
        }
        users_[p].emplace_back(it->second, file.path);
      }
      // A path that is also a directory of another ("a" and "a/b") cannot be laid out.
      for (const std::string& path : paths) {
        auto next = paths.upper_bound(path + "/");
        if (next != paths.end() && next->starts_with(path + "/")) {
          return invalid_argument(fmt::format("profile {}: '{}' is both a file and the directory of '{}'", profile.id, path, *next));
        }
      }
    }
    return ok_status();
  }

  Result<Task> make_task(const SourceRef& source, const profiles::ProfileFile& file) {
    Task task;
    task.source = source;
    task.expected.sha256 = file.sha256;
    task.expected.size = file.size;
    switch (source.kind) {
      case SourceKind::kNgc: {
        if (source.file.empty()) {
          return invalid_argument(fmt::format("source '{}' names a whole model version; a workspace file needs ?file=<path>", source.uri));
        }
        task.repo = RepoId{Hub::kNgc, source.repo};
        task.revision = source.revision;
        task.snapshot = source.revision;
        task.file = source.file;
        task.lock_key = short_hash(source.revision + "\n" + source.file);
        task.is_checksums = source.file == kChecksumsFile;
        break;
      }
      case SourceKind::kHuggingFace: {
        if (source.file.empty()) {
          return invalid_argument(fmt::format("source '{}' names a whole repository; a workspace file needs ?file=<path>", source.uri));
        }
        task.repo = RepoId{Hub::kHuggingFace, source.repo};
        task.revision = source.revision;
        task.file = source.file;
        if (is_lower_hex(source.revision, 40)) task.snapshot = source.revision;
        AIRLOCK_TRY(cache::validate_ref_name(source.revision));
        break;
      }
      case SourceKind::kHttp: {
        AIRLOCK_ASSIGN_OR_RETURN(Uri uri, parse_uri(source.url));
        task.repo = RepoId{Hub::kFiles, host_repo_name(uri)};
        // Identity without the query: presigned URLs change it on every request.
        std::string identity = net::display_url(source.url);
        task.revision = task.snapshot = short_hash(identity, 16);
        task.file = basename_of(uri.path);
        if (task.file.empty()) task.file = "index";
        task.lock_key = short_hash(identity);
        break;
      }
      case SourceKind::kStore: {
        task.repo = RepoId{Hub::kFiles, store_repo_name(source)};
        // The object's URI without a query (a SAS token changes; the object does not).
        task.revision = task.snapshot = short_hash(source.url, 16);
        task.file = basename_of(source.store_key);
        task.lock_key = short_hash(source.url);
        break;
      }
      case SourceKind::kLocal: {
        fs::path path = source.url;
        if (path.is_relative()) path = options_.local_base / path;
        path = path.lexically_normal();
        task.local_path = path.string();
        task.repo = RepoId{Hub::kFiles, "local"};
        task.revision = task.snapshot = short_hash(task.local_path, 16);
        task.file = basename_of(task.local_path);
        task.lock_key = short_hash(task.local_path);
        break;
      }
    }
    if (Status valid = cache::validate_repo_name(task.repo.hub, task.repo.name); !valid.ok()) {
      return valid.error().with_context(fmt::format("source '{}'", redact(source.uri)));
    }
    if (Status valid = validate_relative_path(task.file, "file path"); !valid.ok()) {
      return valid.error().with_context(fmt::format("source '{}'", redact(source.uri)));
    }
    if (task.repo.hub != Hub::kHuggingFace) {
      if (Status valid = cache::validate_snapshot_name(task.snapshot); !valid.ok()) {
        return valid.error().with_context(fmt::format("source '{}'", redact(source.uri)));
      }
    }
    return task;
  }

  // Every place a task will write must stay inside the cache, symlinks already there included.
  Status check_destinations() {
    for (const Task& task : tasks_) {
      std::string snapshot = task.snapshot.empty() ? std::string(40, '0') : task.snapshot;
      auto entry = layout_.snapshot_file(task.repo, snapshot, task.file);
      if (!entry.ok()) return entry.error().with_context(fmt::format("source '{}'", redact(task.source.uri)));
      std::string repo_dir = layout_.relative(layout_.repo_dir(task.repo));
      for (const std::string& part : {repo_dir + "/blobs/x", repo_dir + "/refs/x",
                                      layout_.relative(layout_.lock_path(task.repo, "x")),
                                      layout_.relative(layout_.incomplete_path(task.repo, "x"))}) {
        AIRLOCK_ASSIGN_OR_RETURN(fs::path checked, safe_join(layout_.root(), part, "cache path"));
        (void)checked;
      }
    }
    AIRLOCK_ASSIGN_OR_RETURN(fs::path records, safe_join(layout_.root(), ".airlock/profiles/x.json", "cache path"));
    (void)records;
    return ok_status();
  }

  // Digests of blobs that earlier records already vouch for, so cache hits need no rehash.
  void load_known_digests() {
    auto records = cache::list_profile_records(layout_);
    if (!records.ok()) return;
    for (const auto& record : records->records) {
      for (const auto& file : record.files) {
        if (file.blob.empty()) continue;
        cache::Digests digests;
        digests.size = file.size;
        digests.sha256 = file.sha256;
        digests.blake3 = file.blake3;
        known_[file.repo.display() + "\n" + file.blob] = digests;
      }
    }
  }

  // A task whose snapshot entry exists with its blob: report it the way NIM does.
  bool check_cached(Task& task) {
    if (task.state != TaskState::kPending) return task.state == TaskState::kCached;
    if (task.snapshot.empty() && task.repo.hub == Hub::kHuggingFace) {
      auto commit = cache::resolve_revision(layout_, task.repo, task.revision);
      if (!commit.ok() || !*commit) return false;
      task.snapshot = **commit;
    }
    if (task.snapshot.empty()) return false;
    auto entry = cache::read_snapshot_entry(layout_, task.repo, task.snapshot, task.file);
    if (!entry.ok() || !*entry || !(*entry)->present) return false;
    if (task.expected.size && *task.expected.size != (*entry)->size) {
      log::warn("File: {} in cache has {} bytes where {} are expected; downloading it again", task.file, (*entry)->size,
                *task.expected.size);
      return false;
    }
    task.digests.size = (*entry)->size;
    task.blob = (*entry)->blob.value_or("");
    auto known = known_.find(task.repo.display() + "\n" + task.blob);
    if (known != known_.end() && known->second.size == (*entry)->size) {
      task.digests = known->second;
    } else if (is_lower_hex(task.blob, 64)) {
      task.digests.sha256 = task.blob;
    } else {
      task.needs_digest = true;
    }
    if (task.expected.sha256 && task.digests.sha256 && *task.expected.sha256 != *task.digests.sha256) {
      log::warn("File: {} in cache has sha256 {} where the manifest says {}; downloading it again", task.file,
                *task.digests.sha256, *task.expected.sha256);
      task.digests = {};
      task.needs_digest = false;
      return false;
    }
    task.state = TaskState::kCached;
    std::string where = layout_.relative((*entry)->path);
    log::info("File: {} found in cache: \"{}\"", task.file, where);
    log::info("Skipping download, using cached copy of file: {} at path: \"{}\"", task.file, where);
    return true;
  }

  void fail(Task& task, Error error) {
    task.state = TaskState::kFailed;
    task.error = std::move(error);
  }

  // Learns sizes, hashes and commits of what is not cached yet.
  void resolve() {
    std::map<std::string, std::vector<Task*>> ngc_groups;
    std::map<std::string, std::vector<Task*>> hf_groups;
    std::vector<Task*> probes;
    std::vector<Task*> objects;
    for (Task& task : tasks_) {
      if (task.state != TaskState::kPending) continue;
      switch (task.source.kind) {
        case SourceKind::kStore:
          objects.push_back(&task);
          break;
        case SourceKind::kNgc:
          ngc_groups[task.repo.name + ":" + task.revision].push_back(&task);
          break;
        case SourceKind::kHuggingFace:
          hf_groups[task.repo.name + ":" + task.revision].push_back(&task);
          break;
        case SourceKind::kHttp:
          if (!task.expected.size) probes.push_back(&task);
          break;
        case SourceKind::kLocal: {
          std::error_code ec;
          auto size = fs::file_size(task.local_path, ec);
          if (ec) {
            fail(task, not_found(fmt::format("local source {} cannot be read: {}", task.local_path, ec.message())));
          } else if (task.expected.size && *task.expected.size != size) {
            fail(task, Error(ErrorCode::kCorrupt, fmt::format("local source {} has {} bytes, the manifest says {}", task.local_path,
                                                              size, *task.expected.size)));
          } else {
            task.expected.size = size;
          }
          break;
        }
      }
    }
    for (auto& [key, group] : ngc_groups) resolve_ngc(group);
    for (auto& [key, group] : hf_groups) resolve_hf(group);
    ThreadPool pool(static_cast<std::size_t>(std::max(1, options_.jobs)));
    pool.parallel_for(probes.size(), [&](std::size_t i) {
      Task& task = *probes[i];
      ProbeOptions probe;
      probe.stop_at_other_origin = false;
      auto remote = probe_remote(*http_, task.source.url, probe);
      if (!remote.ok()) {
        fail(task, std::move(remote).error().with_context(fmt::format("{}", net::display_url(task.source.url))));
        return;
      }
      task.expected.size = remote->size;
      task.remote = std::move(remote).value();
    });
    pool.parallel_for(objects.size(), [&](std::size_t i) { resolve_store(*objects[i]); });
  }

  // An object-store source: its size, and the sha256 airlock stored with it when it pushed it.
  void resolve_store(Task& task) {
    auto opened = stores_->open(task.source);
    if (!opened.ok()) {
      fail(task, opened.error());
      return;
    }
    task.store = *opened;
    auto object = stat_store_object(*task.store, task.source);
    if (!object.ok()) {
      fail(task, object.error());
      return;
    }
    const std::string where = redact(task.source.uri);
    if (task.expected.size && *task.expected.size != object->size) {
      fail(task, Error(ErrorCode::kCorrupt, fmt::format("{} has {} bytes, the manifest says {}", where, object->size,
                                                        *task.expected.size)));
      return;
    }
    if (object->sha256 && task.expected.sha256 && *object->sha256 != *task.expected.sha256) {
      fail(task, Error(ErrorCode::kCorrupt, fmt::format("{} was stored with sha256 {}, the manifest says {}", where,
                                                        *object->sha256, *task.expected.sha256)));
      return;
    }
    task.expected.size = object->size;
    if (object->sha256) task.expected.sha256 = object->sha256;
    task.object = std::move(object).value();
  }

  void resolve_ngc(const std::vector<Task*>& group) {
    const SourceRef& ref = group.front()->source;
    auto files = ngc_->list_files(ref);
    if (!files.ok()) {
      for (Task* task : group) fail(*task, files.error());
      return;
    }
    std::map<std::string, const NgcFile*> listed;
    for (const NgcFile& file : *files) listed[file.path] = &file;
    for (Task* task : group) {
      auto found = listed.find(task->file);
      if (found == listed.end()) {
        fail(*task, not_found(fmt::format("NGC model {} version '{}' has no file '{}' (it is not in the version's file list)",
                                          ref.repo, ref.revision, task->file)));
        continue;
      }
      const NgcFile& file = *found->second;
      if (file.size && task->expected.size && *file.size != *task->expected.size) {
        fail(*task, Error(ErrorCode::kCorrupt, fmt::format("NGC lists {} of {}:{} with {} bytes, the manifest says {}", task->file,
                                                           ref.repo, ref.revision, *file.size, *task->expected.size)));
        continue;
      }
      if (file.size) task->expected.size = file.size;
      if (!file.presigned_url.empty()) {
        // V1 storage lists presigned download URLs itself: no credentials go there.
        RemoteFile remote;
        remote.url = file.presigned_url;
        remote.same_origin = false;
        remote.size = file.size;
        task->remote = remote;
      }
    }
  }

  void resolve_hf(const std::vector<Task*>& group) {
    const Task& first = *group.front();
    auto info = hf_->revision_info(first.repo.name, first.revision);
    if (!info.ok()) {
      for (Task* task : group) fail(*task, info.error());
      return;
    }
    if (first.revision != info->sha) {
      if (Status written = cache::ensure_hub_dir(layout_, Hub::kHuggingFace); !written.ok()) log::warn("{}", written.error().message());
      if (Status written = cache::write_ref(layout_, first.repo, first.revision, info->sha); !written.ok()) {
        log::warn("cannot record ref {} of {}: {}", first.revision, first.repo.display(), written.error().message());
      }
    }
    std::map<std::string, const HfFile*> files;
    for (const HfFile& file : info->siblings) files[file.path] = &file;
    for (Task* task : group) {
      task->snapshot = info->sha;
      if (check_cached(*task)) continue;
      auto it = files.find(task->file);
      if (it == files.end()) {
        // What huggingface_hub records so that offline lookups know the file is absent.
        if (Status marked = cache::write_no_exist_marker(layout_, task->repo, info->sha, task->file); !marked.ok()) {
          log::debug("cannot write the .no_exist marker of {}: {}", task->file, marked.error().message());
        }
        fail(*task, not_found(fmt::format("Hugging Face has no file '{}' in {} at revision '{}' (commit {})", task->file,
                                          task->repo.name, task->revision, info->sha)));
        continue;
      }
      const HfFile& file = *it->second;
      if (file.size && task->expected.size && *file.size != *task->expected.size) {
        fail(*task, Error(ErrorCode::kCorrupt, fmt::format("Hugging Face lists {} with {} bytes, the manifest says {}", task->file,
                                                           *file.size, *task->expected.size)));
        continue;
      }
      task->expected.size = file.size;
      if (file.lfs_sha256) {
        if (task->expected.sha256 && *task->expected.sha256 != *file.lfs_sha256) {
          fail(*task, Error(ErrorCode::kCorrupt, fmt::format("Hugging Face lists {} with sha256 {}, the manifest says {}",
                                                             task->file, *file.lfs_sha256, *task->expected.sha256)));
          continue;
        }
        task->expected.sha256 = file.lfs_sha256;
        task->blob = *file.lfs_sha256;
      } else if (!file.blob_id.empty()) {
        task->expected.git_sha1 = file.blob_id;
        task->blob = file.blob_id;
      }
      task->lock_key = task->blob.empty() ? short_hash(task->snapshot + "\n" + task->file) : task->blob;
    }
  }

  Status check_free_space() {
    std::uint64_t needed = 0;
    std::size_t count = 0;
    for (const Task& task : tasks_) {
      if (task.state != TaskState::kPending || !task.expected.size) continue;
      std::uint64_t have = 0;
      if (!task.lock_key.empty()) {
        have = resumable_bytes(layout_.incomplete_path(task.repo, task.lock_key), *task.expected.size, options_.tuning);
      }
      needed += *task.expected.size - std::min(have, *task.expected.size);
      ++count;
    }
    auto available = free_bytes(layout_.root());
    if (!available || needed <= *available) return ok_status();
    std::string message = fmt::format(
        "not enough free space in {}: {} files still to download need {} ({} bytes), {} ({} bytes) are free",
        layout_.root().string(), count, format_bytes(needed), needed, format_bytes(*available), *available);
    if (options_.ignore_free_space) {
      log::warn("{}; going on because of --ignore-free-space", message);
      return ok_status();
    }
    return Error(ErrorCode::kResourceExhausted, message + "; free some space or use --ignore-free-space to try anyway");
  }

  void fetch_all() {
    std::vector<Task*> first;   // checksums.blake3 files: the others are checked against them
    std::vector<Task*> second;
    std::uint64_t total = 0;
    std::size_t items = 0;
    for (Task& task : tasks_) {
      if (task.state == TaskState::kPending) {
        (task.is_checksums ? first : second).push_back(&task);
        total += task.expected.size.value_or(0);
        ++items;
      } else if (task.state == TaskState::kCached && task.needs_digest) {
        second.push_back(&task);
      }
    }
    ProgressOptions progress = options_.progress;
    if (items == 0) progress.style = ProgressStyle::kQuiet;  // nothing to show for an all-cached run
    progress_.emplace("download", total, items, progress);
    ThreadPool pool(static_cast<std::size_t>(std::max(1, options_.jobs)));
    pool.parallel_for(first.size(), [&](std::size_t i) { process(*first[i]); });
    apply_checksums();
    pool.parallel_for(second.size(), [&](std::size_t i) { process(*second[i]); });
    progress_->finish();
  }

  // Takes the BLAKE3 sums of each NGC version's checksums.blake3 (downloaded or cached) as what
  // that version's other files must hash to.
  void apply_checksums() {
    for (Task& sums_task : tasks_) {
      if (!sums_task.is_checksums || (sums_task.state != TaskState::kCached && sums_task.state != TaskState::kDownloaded)) continue;
      auto entry = cache::read_snapshot_entry(layout_, sums_task.repo, sums_task.snapshot, sums_task.file);
      if (!entry.ok() || !*entry || !(*entry)->present) continue;
      auto text = read_file_limited((*entry)->target, 16u << 20);
      auto sums = text.ok() ? cache::parse_checksums_blake3(*text, sums_task.repo.display() + ":" + sums_task.snapshot + "/" +
                                                                       std::string(kChecksumsFile))
                            : Result<cache::Blake3Sums>(text.error());
      if (!sums.ok()) {
        fail(sums_task, sums.error());
        continue;
      }
      for (Task& task : tasks_) {
        if (&task == &sums_task || !(task.repo == sums_task.repo) || task.snapshot != sums_task.snapshot) continue;
        auto found = sums->find(task.file);
        if (found == sums->end()) {
          log::debug("{} is not listed in {}:{} checksums.blake3", task.file, task.repo.display(), task.snapshot);
          continue;
        }
        task.expected.blake3 = found->second;
      }
    }
  }

  void process(Task& task) {
    if (task.state == TaskState::kCached) {
      // A hit written by another tool: hash it once for the record.
      auto entry = cache::read_snapshot_entry(layout_, task.repo, task.snapshot, task.file);
      if (!entry.ok() || !*entry) {
        fail(task, entry.ok() ? not_found(task.file + " vanished from the cache") : entry.error());
        return;
      }
      cache::DigestNeeds needs;
      needs.blake3 = task.expected.blake3.has_value();
      auto digests = cache::digest_file((*entry)->target, needs);
      if (!digests.ok()) {
        fail(task, digests.error());
        return;
      }
      task.digests = *digests;
      return;
    }
    Status status = fetch_locked(task);
    if (!status.ok()) fail(task, std::move(status).error());
    progress_->add_items(1);
  }

  Status fetch_locked(Task& task) {
    AIRLOCK_TRY(cache::ensure_hub_dir(layout_, task.repo.hub));
    if (task.lock_key.empty()) task.lock_key = short_hash(task.snapshot + "\n" + task.file);
    fs::path lock_path = layout_.lock_path(task.repo, task.lock_key);
    AIRLOCK_TRY(make_directories(lock_path.parent_path()));
    AIRLOCK_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(lock_path));
    // Another process may have fetched it while this one waited.
    if (check_cached(task)) return ok_status();
    // The bytes may be here already for another revision: a blob is named by its content.
    std::string known_blob = task.repo.hub == Hub::kHuggingFace ? task.blob : task.expected.sha256.value_or("");
    if (!known_blob.empty() && !task.snapshot.empty()) {
      std::error_code ec;
      auto size = fs::file_size(layout_.blob_path(task.repo, known_blob), ec);
      if (!ec && (!task.expected.size || *task.expected.size == size)) {
        AIRLOCK_TRY(cache::link_snapshot_file(layout_, task.repo, task.snapshot, task.file, known_blob));
        if (check_cached(task)) return ok_status();
      }
    }
    fs::path partial = layout_.incomplete_path(task.repo, task.lock_key);
    RangeSupport forced = RangeSupport::kUnknown;
    int corrupt_left = std::max(0, options_.corrupt_retries);
    while (true) {
      auto outcome = fetch_once(task, partial, forced);
      if (!outcome.ok()) {
        const Error& error = outcome.error();
        if (error.code() == ErrorCode::kUnsupported && forced != RangeSupport::kNo) {
          log::warn("{}: {}; downloading it from the start", task.file, error.message());
          discard_any_partial(partial);
          forced = RangeSupport::kNo;
          continue;
        }
        if (error.code() == ErrorCode::kCorrupt && corrupt_left-- > 0) {
          log::warn("{}: {}; discarding it and downloading it again", task.file, error.message());
          discard_any_partial(partial);
          continue;
        }
        if (error.code() == ErrorCode::kCorrupt) discard_any_partial(partial);
        return error;
      }
      task.transferred += outcome->transferred;
      task.resumed += outcome->reused;
      std::string mismatch = cache::describe_mismatch(task.expected, outcome->digests);
      if (!mismatch.empty()) {
        discard_any_partial(partial);
        Error error(ErrorCode::kCorrupt, fmt::format("{} from {} is corrupt: {}", task.file, redact(task.source.uri), mismatch));
        if (corrupt_left-- > 0) {
          log::warn("{}; discarding it and downloading it again", error.message());
          continue;
        }
        return error;
      }
      task.digests = outcome->digests;
      break;
    }
    std::string blob = task.repo.hub == Hub::kHuggingFace && !task.blob.empty() ? task.blob : *task.digests.sha256;
    AIRLOCK_TRY(cache::install_blob(layout_, task.repo, partial, blob));
    if (options_.tuning.sync) AIRLOCK_TRY(fsync_directory(layout_.blobs_dir(task.repo)));
    discard_partial_state(partial);
    if (task.source.kind == SourceKind::kStore) discard_store_partial(partial);
    AIRLOCK_TRY(cache::link_snapshot_file(layout_, task.repo, task.snapshot, task.file, blob));
    if (task.repo.hub == Hub::kNgc) {
      // NIM keeps one ref per NGC version, named and holding the version.
      auto ref = cache::read_ref(layout_, task.repo, task.snapshot);
      if (ref.ok() && !*ref) AIRLOCK_TRY(cache::write_ref(layout_, task.repo, task.snapshot, task.snapshot));
    }
    task.blob = blob;
    task.state = TaskState::kDownloaded;
    log::info("Downloaded filename: {} to blob: \"{}\"", task.file, layout_.relative(layout_.blob_path(task.repo, blob)));
    return ok_status();
  }

  Result<DownloadOutcome> fetch_once(Task& task, const fs::path& partial, RangeSupport forced) {
    cache::DigestNeeds needs = task.expected.needs();
    if (task.source.kind == SourceKind::kLocal) return copy_local(task.local_path, partial, needs, &*progress_, options_.tuning.sync);
    if (task.source.kind == SourceKind::kStore) {
      if (task.store == nullptr || !task.object) return internal_error(task.file + " was not resolved");
      if (needs.git_sha1_size) needs.git_sha1_size = task.object->size;
      StoreReadTuning tuning;
      tuning.parallel = std::min(options_.tuning.max_ranges_per_file, std::max(1, options_.jobs));
      tuning.part_size = options_.tuning.chunk_size;
      tuning.sync = options_.tuning.sync;
      tuning.whole = forced == RangeSupport::kNo;
      return download_store_object(*task.store, task.source, *task.object, partial, needs, tuning, &*progress_);
    }
    DownloadSource source;
    RemoteFile remote;
    switch (task.source.kind) {
      case SourceKind::kNgc: {
        if (task.remote) {
          remote = *task.remote;
          break;
        }
        AIRLOCK_ASSIGN_OR_RETURN(remote, ngc_->locate(task.source, task.file));
        if (remote.same_origin) source.signer = ngc_->signer(task.source);
        break;
      }
      case SourceKind::kHuggingFace: {
        AIRLOCK_ASSIGN_OR_RETURN(remote, hf_->locate(task.repo.name, task.snapshot, task.file));
        if (!task.blob.empty() && !remote.etag.empty() && remote.etag != task.blob) {
          return Error(ErrorCode::kCorrupt, fmt::format("Hugging Face answers etag {} for {}, its listing said {}", remote.etag,
                                                        task.file, task.blob));
        }
        if (!remote.repo_commit.empty() && remote.repo_commit != task.snapshot) {
          log::debug("{}: X-Repo-Commit {} differs from the resolved commit {}", task.file, remote.repo_commit, task.snapshot);
        }
        if (remote.same_origin) {
          source.headers = hf_->auth_headers();
          source.sensitive_headers = {"Authorization"};
        }
        break;
      }
      case SourceKind::kHttp:
        if (task.remote) {
          remote = *task.remote;
        } else {
          remote.url = task.source.url;
        }
        break;
      case SourceKind::kLocal:
      case SourceKind::kStore:
        break;
    }
    if (!task.expected.size && !remote.size && !remote.same_origin) {
      // The hub named the download location but not the size: ask the location itself (no
      // credentials go there), so that ranges and resume work.
      ProbeOptions probe;
      probe.stop_at_other_origin = false;
      AIRLOCK_ASSIGN_OR_RETURN(RemoteFile located, probe_remote(*http_, remote.url, probe));
      remote.size = located.size;
      remote.ranges = located.ranges;
      remote.url = located.url;
    }
    source.url = remote.url;
    source.size = task.expected.size ? task.expected.size : remote.size;
    if (task.expected.size && remote.size && *remote.size != *task.expected.size) {
      return Error(ErrorCode::kCorrupt, fmt::format("{} is {} bytes at {}, expected {}", task.file, *remote.size,
                                                    net::display_url(remote.url), *task.expected.size));
    }
    if (needs.git_sha1_size && source.size) needs.git_sha1_size = source.size;
    source.ranges = forced == RangeSupport::kNo ? RangeSupport::kNo : remote.ranges;
    DownloadTuning tuning = options_.tuning;
    tuning.max_ranges_per_file = std::min(tuning.max_ranges_per_file, std::max(1, options_.jobs));
    return download_to_partial(*http_, source, partial, needs, tuning, &*progress_);
  }

  void write_records() {
    for (std::size_t p = 0; p < selected_.size(); ++p) {
      const SelectedProfile& selected = selected_[p];
      ProfileOutcome outcome;
      outcome.id = selected.profile->id;
      outcome.description = selected.description;
      outcome.files = users_[p].size();
      bool complete = true;
      cache::ProfileRecord record;
      record.id = selected.profile->id;
      record.description = selected.description;
      record.tags = selected.profile->tags;
      record.model = !selected.profile->model.empty() ? selected.profile->model : manifest_.model.name;
      record.manifests = options_.manifests;
      record.created_at = cache::utc_timestamp_now();
      for (const auto& [index, path] : users_[p]) {
        const Task& task = tasks_[index];
        if ((task.state != TaskState::kCached && task.state != TaskState::kDownloaded) || !task.digests.sha256) {
          complete = false;
          continue;
        }
        cache::RecordedFile file;
        file.path = path;
        file.uri = task.source.uri;
        file.repo = task.repo;
        file.snapshot = task.snapshot;
        file.file = task.file;
        file.blob = task.blob;
        file.size = task.digests.size;
        file.sha256 = *task.digests.sha256;
        file.blake3 = task.digests.blake3;
        outcome.bytes += file.size;
        record.files.push_back(std::move(file));
      }
      if (complete) {
        if (Status written = cache::write_profile_record(layout_, record); !written.ok()) {
          summary_.errors.push_back(written.error());
          complete = false;
        }
      }
      outcome.complete = complete;
      summary_.profiles.push_back(std::move(outcome));
    }
  }

  const profiles::Manifest& manifest_;
  const std::vector<SelectedProfile>& selected_;
  const DownloadOptions& options_;
  cache::CacheLayout layout_;
  std::vector<Task> tasks_;
  std::vector<std::vector<std::pair<std::size_t, std::string>>> users_;  // per profile: (task, workspace path)
  std::map<std::string, cache::Digests> known_;
  std::unique_ptr<net::HttpClient> http_;
  std::optional<NgcClient> ngc_;
  std::optional<HfClient> hf_;
  std::optional<SourceStores> stores_;
  std::optional<Progress> progress_;
  DownloadSummary summary_;
};

}  // namespace

Result<std::vector<SelectedProfile>> choose_profiles(const profiles::Manifest& manifest, const ProfileChoice& choice,
                                                     const std::function<Result<profiles::Hardware>()>& hardware) {
  std::vector<SelectedProfile> selected;
  auto add = [&](const profiles::Profile* profile) {
    for (const auto& s : selected) {
      if (s.profile == profile) return;
    }
    selected.push_back({profile, profiles::describe_profile(*profile)});
  };
  if (choice.all) {
    for (const profiles::Profile& profile : manifest.profiles) add(&profile);
    return selected;
  }
  if (!choice.requested.empty()) {
    std::vector<std::string> unknown;
    for (const std::string& name : choice.requested) {
      auto profile = profiles::find_profile(manifest, name);
      if (!profile.ok()) {
        if (profile.error().code() != ErrorCode::kNotFound) return profile.error();
        unknown.push_back(name);
        continue;
      }
      add(*profile);
    }
    if (!unknown.empty()) {
      std::string list;
      for (const auto& name : unknown) list += (list.empty() ? "'" : ", '") + name + "'";
      std::string valid;
      for (const profiles::Profile& p : manifest.profiles) valid += fmt::format("\n  {} ({})", p.id, profiles::describe_profile(p));
      return not_found(fmt::format("Not all of the provided profiles are supported. Unknown profiles provided: {}. All valid "
                                   "profiles:{}",
                                   list, valid));
    }
    return selected;
  }
  AIRLOCK_ASSIGN_OR_RETURN(profiles::Hardware machine, hardware());
  profiles::SelectionOptions options;
  options.lora = choice.lora;
  profiles::Selection selection = profiles::select_profiles(manifest, machine, options);
  AIRLOCK_ASSIGN_OR_RETURN(const profiles::Assessment* chosen, profiles::resolve_profile(selection, manifest, ""));
  log::info("Selected profile: {} ({})", chosen->profile->id, chosen->description);
  selected.push_back({chosen->profile, chosen->description});
  return selected;
}

Result<DownloadSummary> download_profiles(const profiles::Manifest& manifest, const std::vector<SelectedProfile>& selected,
                                          const DownloadOptions& options) {
  Downloader downloader(manifest, selected, options);
  return downloader.run();
}

Json summary_to_json(const DownloadSummary& summary) {
  Json json = Json::object();
  json["cache"] = summary.cache_root;
  json["ok"] = summary.errors.empty();
  json["files"] = summary.files;
  json["downloaded"] = summary.downloaded;
  json["cached"] = summary.cached;
  json["failed"] = summary.failed;
  json["bytes"] = summary.bytes;
  json["bytes_downloaded"] = summary.bytes_downloaded;
  json["bytes_resumed"] = summary.bytes_resumed;
  json["seconds"] = summary.seconds;
  json["mb_per_s"] = summary.rate() / 1e6;
  Json profiles = Json::array();
  for (const ProfileOutcome& p : summary.profiles) {
    profiles.push_back({{"id", p.id}, {"description", p.description}, {"files", p.files}, {"bytes", p.bytes}, {"complete", p.complete}});
  }
  json["profiles"] = std::move(profiles);
  Json errors = Json::array();
  for (const Error& error : summary.errors) errors.push_back({{"code", error_code_name(error.code())}, {"message", redact(error.message())}});
  json["errors"] = std::move(errors);
  return json;
}

std::string render_summary(const DownloadSummary& summary) {
  std::string out;
  if (!summary.errors.empty()) {
    out += "One or more errors fetching files:\n";
    for (const Error& error : summary.errors) out += "  " + redact(error.message()) + "\n";
  }
  out += fmt::format("{} files ({} downloaded, {} found in cache{}), {} in total; {} downloaded in {} ({}){}\n", summary.files,
                     summary.downloaded, summary.cached, summary.failed == 0 ? "" : fmt::format(", {} failed", summary.failed),
                     format_bytes(summary.bytes), format_bytes(summary.bytes_downloaded),
                     format_duration(std::chrono::duration<double>(summary.seconds)), format_rate(summary.rate()),
                     summary.bytes_resumed == 0 ? "" : fmt::format("; {} resumed from an earlier run", format_bytes(summary.bytes_resumed)));
  for (const ProfileOutcome& p : summary.profiles) {
    out += fmt::format("Profile {} ({}): {} files, {}{}\n", p.id, p.description, p.files, format_bytes(p.bytes),
                       p.complete ? ", complete" : ", INCOMPLETE");
  }
  out += fmt::format("Cache: {}\n", summary.cache_root);
  return out;
}

}  // namespace airlock::fetch

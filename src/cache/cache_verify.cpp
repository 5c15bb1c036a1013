#include "cache/cache_verify.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <system_error>

#include "cache/checksums_blake3.h"
#include "cache/content_digest.h"
#include "cache/hub_repo.h"
#include "cache/profile_record.h"
#include "core/file_io.h"
#include "core/hex.h"
#include "core/thread_pool.h"
#include "core/units.h"

namespace airlock::cache {
namespace fs = std::filesystem;
namespace {

DigestNeeds no_digests() {
  DigestNeeds needs;
  needs.sha256 = false;
  return needs;
}

// One promise about one file.
struct Check {
  std::string subject;
  Expected expected;
  bool missing = false;  // known absent before reading (a link to a missing blob)
};

// Every promise about one file on disk, so it is read once.
struct Target {
  fs::path path;
  std::vector<Check> checks;
  DigestNeeds needs = no_digests();
};

class Collector {
 public:

  void add(const fs::path& path, Check check) {
    auto& target = targets_[path.string()];
    target.path = path;
    DigestNeeds needs;
    needs.sha256 = check.expected.sha256.has_value();
    if (check.expected.git_sha1) needs.git_sha1_size = check.expected.size.value_or(0);
    needs.blake3 = check.expected.blake3.has_value();
    target.needs.merge(needs);
    target.checks.push_back(std::move(check));
  }

  void add_missing(const fs::path& path, std::string subject) {
    Check check;
    check.subject = std::move(subject);
    check.missing = true;
    add(path, std::move(check));
  }

  std::map<std::string, Target>& targets() { return targets_; }

 private:
  std::map<std::string, Target> targets_;
};

void collect_records(const CacheLayout& layout, const std::vector<ProfileRecord>& records, Collector& collector,
                     std::vector<std::string>& problems) {
  for (const ProfileRecord& record : records) {
    for (const RecordedFile& file : record.files) {
      std::string subject = fmt::format("profile {}: {}", record.id, file.path);
      auto entry = read_snapshot_entry(layout, file.repo, file.snapshot, file.file);
      if (!entry.ok()) {
        problems.push_back(fmt::format("{}: {}", subject, entry.error().message()));
        continue;
      }
      fs::path snapshot_path = layout.snapshot_dir(file.repo, file.snapshot) / file.file;
      if (!*entry || !(*entry)->present) {
        collector.add_missing(*entry ? (*entry)->target : snapshot_path, subject);
        continue;
      }
      Check check;
      check.subject = subject;
      check.expected.size = file.size;
      check.expected.sha256 = file.sha256;
      check.expected.blake3 = file.blake3;
      collector.add((*entry)->target, std::move(check));
    }
  }
}

Status collect_repos(const CacheLayout& layout, Collector& collector, std::vector<std::string>& problems) {
  for (Hub hub : kAllHubs) {
    AIRLOCK_ASSIGN_OR_RETURN(std::vector<RepoId> repos, list_repos(layout, hub));
    for (const RepoId& repo : repos) {
      // Blobs named by their content.
      std::error_code ec;
      fs::path blobs = layout.blobs_dir(repo);
      // NIM names NGC blobs after S3 ETags (32 hex, maybe "-<parts>"), which say nothing about the
      // content; airlock names them by sha256, which does.
      if (fs::is_directory(blobs, ec)) {
        for (fs::directory_iterator it(blobs, ec), end; !ec && it != end; it.increment(ec)) {
          std::string name = it->path().filename().string();
          if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
          Check check;
          check.subject = fmt::format("{} blob {}", repo.display(), name);
          if (is_lower_hex(name, 64)) {
            check.expected.sha256 = name;
          } else if (is_lower_hex(name, 40) && hub == Hub::kHuggingFace) {
            check.expected.git_sha1 = name;
            check.expected.size = static_cast<std::uint64_t>(it->file_size(ec));
          } else {
            continue;
          }
          collector.add(it->path(), std::move(check));
        }
      }
      // Snapshot entries: links to missing blobs, and NGC's checksums.blake3.
      fs::path snapshots = layout.snapshots_dir(repo);
      if (!fs::is_directory(snapshots, ec)) continue;
      for (fs::directory_iterator it(snapshots, ec), end; !ec && it != end; it.increment(ec)) {
        std::string snapshot = it->path().filename().string();
        if (!it->is_directory(ec) || !validate_snapshot_name(snapshot).ok()) continue;
        auto files = list_snapshot_files(layout, repo, snapshot);
        if (!files.ok()) {
          problems.push_back(files.error().message());
          continue;
        }
        std::optional<Blake3Sums> sums;
        if (auto sums_entry = read_snapshot_entry(layout, repo, snapshot, "checksums.blake3");
            hub == Hub::kNgc && sums_entry.ok() && *sums_entry && (*sums_entry)->present) {
          auto text = read_file_limited((*sums_entry)->target, 16u << 20);
          auto parsed = text.ok() ? parse_checksums_blake3(*text, repo.display() + "@" + snapshot + "/checksums.blake3")
                                  : Result<Blake3Sums>(text.error());
          if (parsed.ok()) {
            sums = std::move(parsed).value();
          } else {
            problems.push_back(parsed.error().message());
          }
        }
        for (const std::string& file : *files) {
          std::string subject = fmt::format("{}@{}: {}", repo.display(), snapshot, file);
          auto entry = read_snapshot_entry(layout, repo, snapshot, file);
          if (!entry.ok()) {
            problems.push_back(fmt::format("{}: {}", subject, entry.error().message()));
            continue;
          }
          if (!*entry) continue;
          if (!(*entry)->present) {
            collector.add_missing((*entry)->target, subject + " (links to a missing blob)");
            continue;
          }
          if (sums) {
            if (auto found = sums->find(file); found != sums->end()) {
              Check check;
              check.subject = subject;
              check.expected.blake3 = found->second;
              collector.add((*entry)->target, std::move(check));
            }
          }
        }
      }
    }
  }
  return ok_status();
}

}  // namespace

std::string_view file_state_name(FileState state) {
  switch (state) {
    case FileState::kOk:
      return "ok";
    case FileState::kMissing:
      return "missing";
    case FileState::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

Result<VerifyReport> verify_cache(const CacheLayout& layout, const VerifyOptions& options) {
  VerifyReport report;
  Collector collector;
  if (options.profile) {
    AIRLOCK_ASSIGN_OR_RETURN(ProfileRecord record, read_profile_record(layout, *options.profile));
    collect_records(layout, {record}, collector, report.problems);
  } else {
    AIRLOCK_ASSIGN_OR_RETURN(RecordList records, list_profile_records(layout));
    report.problems = records.problems;
    collect_records(layout, records.records, collector, report.problems);
    AIRLOCK_TRY(collect_repos(layout, collector, report.problems));
  }

  std::vector<Target*> targets;
  std::uint64_t total = 0;
  for (auto& [key, target] : collector.targets()) {
    targets.push_back(&target);
    std::error_code ec;
    auto size = fs::file_size(target.path, ec);
    if (!ec) total += size;
  }
  Progress progress("verify", total, targets.size(), options.progress);
  std::mutex mutex;
  ThreadPool pool(options.threads);
  pool.parallel_for(targets.size(), [&](std::size_t index) {
    Target& target = *targets[index];
    std::vector<VerifiedFile> results;
    std::string relative = layout.relative(target.path);
    bool any_missing = std::any_of(target.checks.begin(), target.checks.end(), [](const Check& c) { return c.missing; });
    std::optional<Result<Digests>> digests;
    if (!any_missing) digests = digest_file(target.path, target.needs);
    for (const Check& check : target.checks) {
      VerifiedFile file;
      file.subject = check.subject;
      file.path = relative;
      if (check.missing || !digests) {
        file.state = FileState::kMissing;
        file.detail = "no such file";
      } else if (!digests->ok()) {
        file.state = digests->error().code() == ErrorCode::kNotFound ? FileState::kMissing : FileState::kCorrupt;
        file.detail = digests->error().message();
      } else {
        file.size = (*digests)->size;
        std::string mismatch = describe_mismatch(check.expected, **digests);
        if (!mismatch.empty()) {
          file.state = FileState::kCorrupt;
          file.detail = mismatch;
        }
      }
      results.push_back(std::move(file));
    }
    std::lock_guard lock(mutex);
    if (digests && digests->ok()) {
      report.bytes_hashed += (*digests)->size;
      progress.add_bytes((*digests)->size);
    }
    progress.add_items(1);
    for (auto& file : results) {
      switch (file.state) {
        case FileState::kOk:
          ++report.ok;
          break;
        case FileState::kMissing:
          ++report.missing;
          break;
        case FileState::kCorrupt:
          ++report.corrupt;
          break;
      }
      report.files.push_back(std::move(file));
    }
  });
  progress.finish();
  std::sort(report.files.begin(), report.files.end(),
            [](const VerifiedFile& a, const VerifiedFile& b) { return a.subject < b.subject; });
  return report;
}

Json verify_report_to_json(const VerifyReport& report) {
  Json json = Json::object();
  json["clean"] = report.clean();
  json["ok"] = report.ok;
  json["missing"] = report.missing;
  json["corrupt"] = report.corrupt;
  json["bytes_hashed"] = report.bytes_hashed;
  Json files = Json::array();
  for (const VerifiedFile& file : report.files) {
    Json entry = {{"subject", file.subject}, {"path", file.path}, {"state", file_state_name(file.state)}, {"size", file.size}};
    if (!file.detail.empty()) entry["detail"] = file.detail;
    files.push_back(std::move(entry));
  }
  json["files"] = std::move(files);
  json["problems"] = report.problems;
  return json;
}

std::string render_verify_report(const VerifyReport& report) {
  std::string out;
  for (const VerifiedFile& file : report.files) {
    if (file.state == FileState::kOk) continue;
    out += fmt::format("{}: {} ({}): {}\n", file_state_name(file.state), file.subject, file.path, file.detail);
  }
  for (const std::string& problem : report.problems) out += fmt::format("problem: {}\n", problem);
  out += fmt::format("{} checks: {} ok, {} missing, {} corrupt; {} hashed{}\n", report.files.size(), report.ok, report.missing,
                     report.corrupt, format_bytes(report.bytes_hashed), report.clean() ? "" : " — the cache is NOT intact");
  return out;
}

}  // namespace airlock::cache

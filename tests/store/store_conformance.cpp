#include "store_conformance.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>

#include "core/hash.h"
#include "store_servers.h"
#include "sync/pull.h"
#include "sync/push.h"
#include "sync/tree_scan.h"
#include "testing.h"

namespace airlock::testing {
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

Status write_text_object(store::Store& store, const std::string& key, const std::string& content) {
  return store.write_string(key, content);
}

Result<std::string> read_all(store::Store& store, const std::string& key, store::ReadOptions options = {}) {
  std::string out;
  AIRLOCK_TRY(store.read(key, options, [&](std::string_view bytes) -> Status {
    out.append(bytes);
    return ok_status();
  }));
  return out;
}

sync::PushOptions quiet_push() {
  sync::PushOptions options;
  options.progress.style = ProgressStyle::kQuiet;
  options.jobs = 4;
  options.part_size = 5 * kMiB;
  options.multipart_threshold = 6 * kMiB;
  return options;
}

sync::PullOptions quiet_pull() {
  sync::PullOptions options;
  options.progress.style = ProgressStyle::kQuiet;
  options.jobs = 4;
  options.part_size = 1 * kMiB;
  return options;
}

// A small hub-style tree: blobs, a ref without a trailing newline, relative snapshot symlinks
// (one a level deeper), an empty file.
void make_hub_tree(const fs::path& root, std::size_t blob_size) {
  const fs::path repo = root / "hub" / "models--org--name";
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots" / "c0ffee" / "sub");
  write_text(repo / "blobs" / "big", pattern_bytes(blob_size, 1));
  write_text(repo / "blobs" / "small", "{\"hidden_size\": 8}");
  write_text(repo / "blobs" / "empty", "");
  write_text(repo / "refs" / "main", "c0ffee");
  fs::create_symlink("../../blobs/big", repo / "snapshots" / "c0ffee" / "model.safetensors");
  fs::create_symlink("../../../blobs/small", repo / "snapshots" / "c0ffee" / "sub" / "config.json");
  fs::create_symlink("../../blobs/empty", repo / "snapshots" / "c0ffee" / "__init__.py");
}

std::string file_sha(const fs::path& path) {
  return sha256_hex(read_text(path));
}

bool is_empty_dir(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

}  // namespace

std::unique_ptr<store::Store> StoreConformance::fresh_store() {
  static std::atomic<int> counter{0};
  prefix_ = fmt::format("conformance/{}-{}/", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                        counter.fetch_add(1));
  return backend().open(prefix_);
}

TEST_P(StoreConformance, WriteStatReadDelete) {
  auto s = fresh_store();
  ASSERT_TRUE(write_text_object(*s, "dir/a.txt", "hello store").ok());
  auto info = s->stat("dir/a.txt");
  ASSERT_TRUE(info.ok()) << info.error().message();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->size, 11u);
  auto missing = s->stat("dir/nope.txt");
  ASSERT_TRUE(missing.ok()) << missing.error().message();
  EXPECT_FALSE(missing->has_value());
  auto content = read_all(*s, "dir/a.txt");
  ASSERT_TRUE(content.ok()) << content.error().message();
  EXPECT_EQ(*content, "hello store");
  auto absent = read_all(*s, "dir/nope.txt");
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound) << absent.error().message();
  // An empty object is an object.
  ASSERT_TRUE(write_text_object(*s, "empty", "").ok());
  auto empty = s->stat("empty");
  ASSERT_TRUE(empty.ok() && empty->has_value());
  EXPECT_EQ((*empty)->size, 0u);
  ASSERT_TRUE(s->remove("dir/a.txt").ok());
  auto gone = s->stat("dir/a.txt");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(s->remove("dir/a.txt").ok()) << "deleting a missing object succeeds";
}

TEST_P(StoreConformance, RangedAndParallelReads) {
  auto s = fresh_store();
  const std::string data = pattern_bytes(5 * kMiB + 123, 7);
  ASSERT_TRUE(s->write_string("blob", data).ok());
  store::ReadOptions middle;
  middle.range = store::ByteRange{1000, 5000};
  auto part = read_all(*s, "blob", middle);
  ASSERT_TRUE(part.ok()) << part.error().message();
  EXPECT_EQ(*part, data.substr(1000, 5000));
  store::ReadOptions tail;
  tail.range = store::ByteRange{data.size() - 10, std::nullopt};
  auto end = read_all(*s, "blob", tail);
  ASSERT_TRUE(end.ok()) << end.error().message();
  EXPECT_EQ(*end, data.substr(data.size() - 10));
  store::ReadOptions parallel;
  parallel.parallel = 4;
  parallel.part_size = 1 * kMiB;
  parallel.size = data.size();
  auto whole = read_all(*s, "blob", parallel);
  ASSERT_TRUE(whole.ok()) << whole.error().message();
  EXPECT_TRUE(*whole == data) << "parallel ranged read delivered other bytes";
  // A parallel read from an offset, as a resumed pull does.
  parallel.range = store::ByteRange{2 * kMiB + 5, data.size() - (2 * kMiB + 5)};
  auto rest = read_all(*s, "blob", parallel);
  ASSERT_TRUE(rest.ok()) << rest.error().message();
  EXPECT_TRUE(*rest == data.substr(2 * kMiB + 5));
}

TEST_P(StoreConformance, CancelStopsAParallelRead) {
  auto s = fresh_store();
  const std::string data = pattern_bytes(6 * kMiB, 13);
  ASSERT_TRUE(s->write_string("blob", data).ok());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  store::ReadOptions options;
  options.parallel = 3;
  options.part_size = 1 * kMiB;
  options.size = data.size();
  options.cancel = cancel;
  std::string received;
  const auto started = std::chrono::steady_clock::now();
  Status status = s->read("blob", options, [&](std::string_view bytes) -> Status {
    received.append(bytes);
    cancel->store(true);  // as a signal handler would, while parts are in flight
    return ok_status();
  });
  ASSERT_FALSE(status.ok()) << "a cancelled read must not report success";
  EXPECT_EQ(status.error().code(), ErrorCode::kCancelled) << status.error().message();
  EXPECT_LT(received.size(), data.size());
  EXPECT_TRUE(data.starts_with(received)) << "what arrived before the cancel is in order";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // The store stays usable: in-flight parts were stopped, not abandoned.
  auto again = read_all(*s, "blob");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_TRUE(*again == data);
}

TEST_P(StoreConformance, ListPagesWithDirectorySemantics) {
  auto s = fresh_store();
  if (!s->capabilities().list) GTEST_SKIP() << backend().name() << " cannot list (it is read through its index)";
  // "a_b" rather than "a-b": s3rver pages in its directory-walk order, where "a-b/" comes after
  // "a/y/z" although S3's byte order puts it first, so its start-after paging loses such keys.
  // PrefixIsADirectory covers the '-' sibling ("llama" next to "llama-hf") without paging.
  const std::vector<std::string> keys = {"a/x", "a/y/z", "a_b/w", "ab", "a/y/q", "b"};
  for (const auto& key : keys) ASSERT_TRUE(write_text_object(*s, key, key).ok()) << key;
  store::ListOptions small;
  small.page_size = 2;
  std::vector<std::string> seen;
  std::optional<std::string> token;
  int pages = 0;
  do {
    auto page = s->list_page("", small, token);
    ASSERT_TRUE(page.ok()) << page.error().message();
    EXPECT_LE(page->objects.size(), 2u);
    for (const auto& o : page->objects) {
      seen.push_back(o.key);
      EXPECT_EQ(o.size, o.key.size());
    }
    token = page->next_token;
    ASSERT_LT(++pages, 20);
  } while (token);
  EXPECT_GE(pages, 3) << "page_size 2 over 6 keys must take several pages";
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted);
  // "a/" is a directory: a_b/ and ab are not in it.
  auto under_a = s->list_all("a");
  ASSERT_TRUE(under_a.ok()) << under_a.error().message();
  std::vector<std::string> a_keys;
  for (const auto& o : under_a.value()) a_keys.push_back(o.key);
  EXPECT_EQ(a_keys, (std::vector<std::string>{"a/x", "a/y/q", "a/y/z"}));
  // One level.
  store::ListOptions level;
  level.recursive = false;
  auto top = s->list_page("a/", level, std::nullopt);
  ASSERT_TRUE(top.ok()) << top.error().message();
  ASSERT_EQ(top->objects.size(), 1u);
  EXPECT_EQ(top->objects[0].key, "a/x");
  EXPECT_EQ(top->prefixes, (std::vector<std::string>{"a/y/"}));
}

TEST_P(StoreConformance, LargeMultipartWrite) {
  auto s = fresh_store();
  const std::string data = pattern_bytes(13 * kMiB + 17, 11);
  const std::string sha = sha256_hex(data);
  store::WriteOptions options;
  options.multipart_threshold = 5 * kMiB;
  options.part_size = 5 * kMiB;
  options.parallel = 3;
  options.sha256 = sha;
  std::uint64_t last_progress = 0;
  std::mutex mutex;
  options.on_progress = [&](std::uint64_t sent) {
    std::lock_guard lock(mutex);
    last_progress = std::max(last_progress, sent);
  };
  Status written = s->write("weights/model.bin", store::string_source(data), options);
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_EQ(last_progress, data.size());
  auto info = s->stat("weights/model.bin");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->size, data.size());
  if (s->capabilities().sha256_metadata) {
    ASSERT_TRUE((*info)->sha256.has_value()) << "the backend promises to keep the sha256";
    EXPECT_EQ(*(*info)->sha256, sha);
  }
  store::ReadOptions read;
  read.parallel = 3;
  read.part_size = 4 * kMiB;
  read.size = data.size();
  auto back = read_all(*s, "weights/model.bin", read);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(sha256_hex(*back), sha);
}

TEST_P(StoreConformance, IndexRoundTripWithSymlinks) {
  auto s = fresh_store();
  TempDir tmp;
  make_hub_tree(tmp / "src", 7 * kMiB + 3);
  auto pushed = sync::push(tmp / "src", *s, quiet_push());
  ASSERT_TRUE(pushed.ok()) << pushed.error().message();
  EXPECT_EQ(pushed->files, 4u);
  EXPECT_EQ(pushed->symlinks, 3u);
  EXPECT_EQ(pushed->uploaded_files, 4u);
  EXPECT_TRUE(pushed->index_written);
  // Symlinks live in the index, not as copies.
  auto snapshot_object = s->stat("hub/models--org--name/snapshots/c0ffee/model.safetensors");
  ASSERT_TRUE(snapshot_object.ok());
  if (s->capabilities().list) {
    auto all = s->list_all("");
    ASSERT_TRUE(all.ok());
    std::uint64_t stored = 0;
    for (const auto& o : *all) {
      if (o.key != sync::kIndexKey) stored += o.size;
    }
    EXPECT_EQ(stored, pushed->bytes) << "bytes stored must equal the bytes of real data";
  }

  auto pulled = sync::pull(*s, tmp / "dst", quiet_pull());
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_TRUE(pulled->verified);
  EXPECT_EQ(pulled->fetched_files, 4u);
  const fs::path repo = tmp / "dst" / "hub" / "models--org--name";
  EXPECT_EQ(file_sha(repo / "blobs" / "big"), file_sha(tmp / "src" / "hub" / "models--org--name" / "blobs" / "big"));
  EXPECT_EQ(read_text(repo / "refs" / "main"), "c0ffee");
  EXPECT_TRUE(fs::is_symlink(repo / "snapshots" / "c0ffee" / "model.safetensors"));
  EXPECT_EQ(fs::read_symlink(repo / "snapshots" / "c0ffee" / "sub" / "config.json").string(), "../../../blobs/small");
  EXPECT_EQ(read_text(repo / "snapshots" / "c0ffee" / "sub" / "config.json"), "{\"hidden_size\": 8}");
  EXPECT_TRUE(fs::exists(repo / "blobs" / "empty"));

  // Nothing changed: a second push uploads nothing and leaves the index; a second pull fetches nothing.
  auto again = sync::push(tmp / "src", *s, quiet_push());
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->uploaded_files, 0u);
  EXPECT_FALSE(again->index_written);
  auto repull = sync::pull(*s, tmp / "dst", quiet_pull());
  ASSERT_TRUE(repull.ok()) << repull.error().message();
  EXPECT_EQ(repull->fetched_files, 0u);
  EXPECT_EQ(repull->up_to_date_files, 4u);

  // One file changes: only it goes up.
  write_text(tmp / "src" / "hub" / "models--org--name" / "blobs" / "small", "{\"hidden_size\": 16}");
  auto changed = sync::push(tmp / "src", *s, quiet_push());
  ASSERT_TRUE(changed.ok()) << changed.error().message();
  EXPECT_EQ(changed->uploaded_files, 1u);
  EXPECT_TRUE(changed->index_written);
}

TEST_P(StoreConformance, PrefixIsADirectory) {
  auto base = fresh_store();
  TempDir tmp;
  fs::create_directories(tmp / "one");
  fs::create_directories(tmp / "two");
  write_text(tmp / "one" / "a.txt", "one");
  write_text(tmp / "two" / "b.txt", "two");
  auto llama = backend().open(prefix_ + "models/llama");
  auto llama_hf = backend().open(prefix_ + "models/llama-hf");
  ASSERT_TRUE(sync::push(tmp / "one", *llama, quiet_push()).ok());
  ASSERT_TRUE(sync::push(tmp / "two", *llama_hf, quiet_push()).ok());
  auto pulled = sync::pull(*llama, tmp / "dst", quiet_pull());
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_TRUE(fs::exists(tmp / "dst" / "a.txt"));
  EXPECT_FALSE(fs::exists(tmp / "dst" / "b.txt"));
  EXPECT_FALSE(fs::exists(tmp / "dst" / "-hf"));
  if (llama->capabilities().list) {
    auto listed = llama->list_all("");
    ASSERT_TRUE(listed.ok());
    for (const auto& o : *listed) EXPECT_TRUE(o.key == "a.txt" || o.key == sync::kIndexKey) << o.key;
  }
}

TEST_P(StoreConformance, ResumesAPartialPull) {
  auto s = fresh_store();
  TempDir tmp;
  fs::create_directories(tmp / "src");
  const std::string data = pattern_bytes(3 * kMiB + 5, 3);
  write_text(tmp / "src" / "weights.bin", data);
  ASSERT_TRUE(sync::push(tmp / "src", *s, quiet_push()).ok());
  // What an interrupted pull leaves: the first part of the file under its partial name.
  fs::create_directories(tmp / "dst");
  write_text(sync::partial_path_for(tmp / "dst" / "weights.bin"), data.substr(0, kMiB + 77));
  auto pulled = sync::pull(*s, tmp / "dst", quiet_pull());
  ASSERT_TRUE(pulled.ok()) << pulled.error().message();
  EXPECT_EQ(pulled->resumed_files, 1u);
  EXPECT_EQ(pulled->fetched_bytes, data.size() - (kMiB + 77));
  EXPECT_TRUE(read_text(tmp / "dst" / "weights.bin") == data);
  EXPECT_FALSE(fs::exists(sync::partial_path_for(tmp / "dst" / "weights.bin")));
}

TEST_P(StoreConformance, CorruptObjectIsNeverAccepted) {
  auto s = fresh_store();
  TempDir tmp;
  fs::create_directories(tmp / "src");
  std::string data = pattern_bytes(200000, 5);
  write_text(tmp / "src" / "good.bin", "fine");
  write_text(tmp / "src" / "model.bin", data);
  ASSERT_TRUE(sync::push(tmp / "src", *s, quiet_push()).ok());
  // The stored bytes change behind the index's back (bit rot, a bad copy): same size, one byte off.
  std::string rotten = data;
  rotten[1234] = static_cast<char>(rotten[1234] ^ 0x20);
  ASSERT_TRUE(s->write_string("model.bin", rotten).ok());
  auto pulled = sync::pull(*s, tmp / "dst", quiet_pull());
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.error().code(), ErrorCode::kCorrupt);
  const std::string& message = pulled.error().message();
  EXPECT_NE(message.find("model.bin"), std::string::npos) << message;
  EXPECT_NE(message.find(sha256_hex(data)), std::string::npos) << "the expected hash: " << message;
  EXPECT_NE(message.find(sha256_hex(rotten)), std::string::npos) << "the hash received: " << message;
  EXPECT_FALSE(fs::exists(tmp / "dst" / "model.bin")) << "a corrupt object must never land under its name";
  EXPECT_FALSE(fs::exists(sync::partial_path_for(tmp / "dst" / "model.bin")));
}

TEST_P(StoreConformance, HostileIndexIsRejectedBeforeWriting) {
  const std::string sha = sha256_hex("x");
  const std::string good = R"({"path": "good.txt", "type": "file", "size": 1, "sha256": ")" + sha + R"("})";
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"dotdot", R"({"path": "../escaped.txt", "type": "file", "size": 1, "sha256": ")" + sha + R"("})"},
      {"absolute", R"({"path": "/tmp/airlock-escaped.txt", "type": "file", "size": 1, "sha256": ")" + sha + R"("})"},
      {"symlink-out", R"({"path": "link", "type": "symlink", "target": "../../../../etc/passwd"})"},
      {"symlink-absolute", R"({"path": "link", "type": "symlink", "target": "/etc/passwd"})"},
      {"through-symlink",
       R"({"path": "d", "type": "symlink", "target": "x"}, {"path": "d/f", "type": "file", "size": 1, "sha256": ")" +
           sha + R"("})"},
  };
  for (const auto& [name, entry] : hostile) {
    SCOPED_TRACE(name);
    auto s = fresh_store();
    ASSERT_TRUE(s->write_string("good.txt", "x").ok());
    ASSERT_TRUE(s->write_string(std::string(sync::kIndexKey),
                                R"({"format": "airlock-store/1", "entries": [)" + good + "," + entry + "]}")
                    .ok());
    TempDir tmp;
    auto pulled = sync::pull(*s, tmp / "dst", quiet_pull());
    ASSERT_FALSE(pulled.ok());
    EXPECT_TRUE(pulled.error().code() == ErrorCode::kInvalidArgument || pulled.error().code() == ErrorCode::kParse)
        << pulled.error().message();
    EXPECT_TRUE(is_empty_dir(tmp / "dst")) << "nothing may be written when the index is hostile";
    EXPECT_FALSE(fs::exists(tmp.path() / "escaped.txt"));
    EXPECT_FALSE(fs::exists("/tmp/airlock-escaped.txt"));
  }
}

TEST_P(StoreConformance, WrongCredentialsAreRefused) {
  fresh_store();
  auto wrong = backend().open_with_wrong_credentials(prefix_);
  if (!wrong) GTEST_SKIP() << backend().name() << " has no credentials to get wrong";
  Status written = wrong->write_string("x.txt", "data");
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(written.error().code() == ErrorCode::kUnauthenticated ||
              written.error().code() == ErrorCode::kPermissionDenied)
      << written.error().message();
  if (!backend().credentials_hint().empty()) {
    EXPECT_NE(written.error().message().find(backend().credentials_hint()), std::string::npos)
        << written.error().message();
  }
  auto read = wrong->read_to_string("x.txt", 100);
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.error().code() == ErrorCode::kUnauthenticated || read.error().code() == ErrorCode::kPermissionDenied)
      << read.error().message();
}

}  // namespace airlock::testing

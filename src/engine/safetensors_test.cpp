// safetensors: good files load (F32/F16/BF16, sharded), and every kind of hostile or broken
// header is a clear kCorrupt error naming the file and the tensor — never a crash or a read
// outside the file.
#include "engine/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/file_io.h"
#include "testing.h"

namespace airlock::engine {
namespace {

std::string file_with_header(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  out += header;
  out.append(data_bytes, '\0');
  return out;
}

Result<SafetensorsHeader> parse(const std::string& bytes) {
  return parse_safetensors_header({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "test.safetensors");
}

TEST(Safetensors, ParsesAValidHeader) {
  auto h = parse(file_with_header(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      12));
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->tensors.size(), 2u);
  EXPECT_EQ(h->metadata.at("format"), "pt");
}

TEST(Safetensors, EmptyTensorsAndScalarsAreLegal) {
  auto h = parse(file_with_header(
      R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", 4));
  ASSERT_TRUE(h.ok()) << h.error().message();
}

struct BadCase {
  const char* name;
  std::string bytes;
  const char* message;  // a fragment the error must contain
};

TEST(Safetensors, RejectsBrokenHeadersWithClearErrors) {
  const std::vector<BadCase> cases = {
      {"short file", std::string(5, '\0'), "shorter than the 8-byte header length"},
      {"huge header length", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10), "exceeds"},
      {"header past the end", file_with_header("{}", 0).substr(0, 9), "past the end"},
      {"not an object", file_with_header("[1,2]", 0), "header does not start with"},
      {"bad json", file_with_header("{\"a\":", 0), "invalid JSON"},
      {"unknown dtype", file_with_header(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1), "unknown dtype"},
      {"offsets out of range", file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "run past"},
      {"size mismatch", file_with_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "need 12"},
      {"overlap", file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
       "overlaps"},
      {"hole", file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "unused bytes"},
      {"trailing bytes", file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8), "cover"},
      {"reversed offsets", file_with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4), "reversed"},
      {"negative shape", file_with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative"},
      {"overflowing shape", file_with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4),
       "impossibly large"},
      {"missing offsets", file_with_header(R"({"a":{"dtype":"F32","shape":[1]}})", 4), "data_offsets"},
      {"bad metadata", file_with_header(R"({"__metadata__":{"x":1}})", 0), "not a string"},
  };
  for (const BadCase& c : cases) {
    auto h = parse(c.bytes);
    ASSERT_FALSE(h.ok()) << c.name;
    EXPECT_EQ(h.error().code(), ErrorCode::kCorrupt) << c.name << ": " << h.error().message();
    EXPECT_NE(h.error().message().find(c.message), std::string::npos) << c.name << ": " << h.error().message();
    EXPECT_NE(h.error().message().find("test.safetensors"), std::string::npos) << c.name;
  }
}

TEST(Safetensors, WeightStoreConvertsAndChecksShapes) {
  testing::TempDir dir;
  // a: F32 [2] = {1, -2}; b: F16 [1] = {1.5}; c: BF16 [1] = {-0.5}
  std::string data;
  float f[2] = {1.0f, -2.0f};
  data.append(reinterpret_cast<const char*>(f), 8);
  data += std::string("\x00\x3e", 2);  // 1.5 in half
  data += std::string("\x00\xbf", 2);  // -0.5 in bf16
  std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]},"i":{"dtype":"I32","shape":[0],"data_offsets":[12,12]}})";
  std::string file = file_with_header(header, 0) + data;
  ASSERT_TRUE(write_file_atomic(dir / "model.safetensors", file).ok());
  auto store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ(*store->load_f32("a", {2}), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(*store->load_f32("b", {1}), (std::vector<float>{1.5f}));
  EXPECT_EQ(*store->load_f32("c", {1}), (std::vector<float>{-0.5f}));
  auto wrong_shape = store->load_f32("a", {3});
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_NE(wrong_shape.error().message().find("\"a\" has shape [2], expected [3]"), std::string::npos)
      << wrong_shape.error().message();
  auto missing = store->load_f32("nope", {1});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("missing tensor \"nope\""), std::string::npos);
  auto wrong_type = store->load_f32("i", {0});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message().find("I32"), std::string::npos);
}

TEST(Safetensors, ShardedIndexMustNameFilesBesideIt) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../outside.safetensors"}})").ok());
  auto store = WeightStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("not a file in the same directory"), std::string::npos) << store.error().message();

  std::string shard = file_with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  ASSERT_TRUE(write_file_atomic(dir / "part-1.safetensors", shard).ok());
  ASSERT_TRUE(write_file_atomic(dir / "model.safetensors.index.json",
                                R"({"weight_map":{"a":"part-1.safetensors","b":"part-1.safetensors"}})")
                  .ok());
  store = WeightStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message().find("does not contain it"), std::string::npos) << store.error().message();

  ASSERT_TRUE(write_file_atomic(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"part-1.safetensors"}})").ok());
  store = WeightStore::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_TRUE(store->contains("a"));
}

TEST(Safetensors, MissingWeightsSaySo) {
  testing::TempDir dir;
  auto store = WeightStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(store.error().message().find("model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace airlock::engine

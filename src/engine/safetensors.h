// safetensors weights: memory-mapped, header validated before any tensor is touched (offsets in
// range, no overlap or hole, sizes consistent with dtype and shape), single files or sharded
// through model.safetensors.index.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::engine {

enum class DType { kBool, kU8, kI8, kU16, kI16, kF16, kBF16, kU32, kI32, kF32, kF64, kU64, kI64, kF8E4M3, kF8E5M2 };

std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // offsets into the data buffer (after the header)
  std::uint64_t end = 0;

  std::uint64_t elements() const;
};

struct SafetensorsHeader {
  std::uint64_t header_bytes = 0;  // N: the JSON's length
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
};

// Validates the header of a whole file's bytes (what the fuzzer drives). `source` names the file.
Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::uint8_t> file, std::string_view source);

class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

 private:
  MappedFile() = default;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// A view of one tensor's bytes inside a mapped file.
struct TensorView {
  const TensorInfo* info = nullptr;
  std::span<const std::uint8_t> bytes;
  std::string_view file;  // for errors
};

// All the weights of a model: one or more safetensors files, searched by tensor name.
class WeightStore {
 public:
  // `dir`/model.safetensors, or the shards listed by `dir`/model.safetensors.index.json.
  static Result<WeightStore> open(const std::filesystem::path& dir);
  static Result<WeightStore> open_file(const std::filesystem::path& file);

  WeightStore(WeightStore&&) noexcept;
  WeightStore& operator=(WeightStore&&) noexcept;
  ~WeightStore();

  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;
  // The tensor, or a kNotFound error naming it and the files searched.
  Result<TensorView> tensor(std::string_view name) const;
  // The tensor converted to fp32 (from F32, F16 or BF16), checked against `shape`.
  Result<std::vector<float>> load_f32(std::string_view name, const std::vector<std::int64_t>& shape) const;

 private:
  WeightStore() = default;
  struct Shard;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::map<std::string, std::pair<std::size_t, std::size_t>, std::less<>> index_;  // name → (shard, tensor)
  std::string description_;
};

}  // namespace airlock::engine

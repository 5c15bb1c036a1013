#include "engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/file_io.h"
#include "engine/json_value.h"
#include "engine/numeric.h"

namespace airlock::engine {
namespace {

// The reference implementation refuses larger headers; so do we (a hostile length must not
// make us allocate or read gigabytes).
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeName {
  const char* name;
  DType dtype;
  std::size_t size;
};
constexpr DTypeName kDTypes[] = {
    {"BOOL", DType::kBool, 1}, {"U8", DType::kU8, 1},         {"I8", DType::kI8, 1},
    {"U16", DType::kU16, 2},   {"I16", DType::kI16, 2},       {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2}, {"U32", DType::kU32, 4},       {"I32", DType::kI32, 4},
    {"F32", DType::kF32, 4},   {"F64", DType::kF64, 8},       {"U64", DType::kU64, 8},
    {"I64", DType::kI64, 8},   {"F8_E4M3", DType::kF8E4M3, 1}, {"F8_E5M2", DType::kF8E5M2, 1},
};

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 1;
}

std::uint64_t TensorInfo::elements() const {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

Result<SafetensorsHeader> parse_safetensors_header(std::span<const std::uint8_t> file, std::string_view source) {
  if (file.size() < 8) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: not a safetensors file: {} bytes, shorter than the 8-byte header length",
                                                  source, file.size()));
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[static_cast<std::size_t>(i)];
  if (n > kMaxHeaderBytes) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: header length {} exceeds the {} byte limit (corrupt or not safetensors)",
                                                  source, n, kMaxHeaderBytes));
  }
  if (n > file.size() - 8) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: header length {} runs past the end of the {}-byte file (truncated?)",
                                                  source, n, file.size()));
  }
  if (n == 0 || file[8] != '{') {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: header does not start with '{{'", source));
  }
  std::string_view text(reinterpret_cast<const char*>(file.data() + 8), static_cast<std::size_t>(n));
  auto parsed = parse_json_value(text, source);
  if (!parsed.ok()) return Error(ErrorCode::kCorrupt, parsed.error().message());
  JsonValue json = std::move(parsed).value();
  if (!json.is_object()) return Error(ErrorCode::kCorrupt, fmt::format("{}: header is not a JSON object", source));
  SafetensorsHeader header;
  header.header_bytes = n;
  const std::uint64_t buffer = file.size() - 8 - n;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& name = it.key();
    const JsonValue& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) return Error(ErrorCode::kCorrupt, fmt::format("{}: __metadata__ is not an object", source));
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) {
          return Error(ErrorCode::kCorrupt, fmt::format("{}: __metadata__[\"{}\"] is not a string", source, m.key()));
        }
        header.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](std::string_view what) {
      return Error(ErrorCode::kCorrupt, fmt::format("{}: tensor \"{}\": {}", source, name, what));
    };
    if (!entry.is_object()) return bad("entry is not an object");
    auto dtype_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) return bad("missing or non-string \"dtype\"");
    if (shape_it == entry.end() || !shape_it->is_array()) return bad("missing or non-list \"shape\"");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
      return bad("\"data_offsets\" must be [begin, end]");
    }
    TensorInfo info;
    info.name = name;
    std::string dtype = dtype_it->get<std::string>();
    const DTypeName* found = nullptr;
    for (const auto& d : kDTypes) {
      if (dtype == d.name) found = &d;
    }
    if (found == nullptr) return bad(fmt::format("unknown dtype \"{}\"", dtype));
    info.dtype = found->dtype;
    // Element count with overflow checks: a hostile shape must not wrap around.
    std::uint64_t elements = 1;
    for (const JsonValue& d : *shape_it) {
      if (!d.is_number_unsigned()) return bad("shape entries must be non-negative integers");
      auto v = d.get<std::uint64_t>();
      if (v > (1ull << 48) || (v != 0 && elements > (1ull << 62) / v)) return bad("shape is impossibly large");
      elements *= v;
      info.shape.push_back(static_cast<std::int64_t>(v));
    }
    if (!(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
      return bad("data_offsets must be non-negative integers");
    }
    info.begin = (*offsets_it)[0].get<std::uint64_t>();
    info.end = (*offsets_it)[1].get<std::uint64_t>();
    if (info.begin > info.end) return bad(fmt::format("data_offsets [{}, {}] are reversed", info.begin, info.end));
    if (info.end > buffer) {
      return bad(fmt::format("data_offsets [{}, {}] run past the {}-byte data buffer (truncated file?)", info.begin,
                             info.end, buffer));
    }
    if (elements > UINT64_MAX / found->size || info.end - info.begin != elements * found->size) {
      return bad(fmt::format("{} bytes at [{}, {}) but dtype {} and shape {} need {}", info.end - info.begin, info.begin,
                             info.end, dtype, shape_string(info.shape), elements * found->size));
    }
    header.tensors.push_back(std::move(info));
  }
  // The tensors must tile the buffer: sorted by offset, each begins where the previous ended.
  std::vector<const TensorInfo*> order;
  for (const TensorInfo& t : header.tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t position = 0;
  for (const TensorInfo* t : order) {
    if (t->begin < position) {
      return Error(ErrorCode::kCorrupt, fmt::format("{}: tensor \"{}\" at [{}, {}) overlaps the tensor before it", source,
                                                    t->name, t->begin, t->end));
    }
    if (t->begin > position) {
      return Error(ErrorCode::kCorrupt, fmt::format("{}: {} unused bytes before tensor \"{}\" (offsets do not tile the buffer)",
                                                    source, t->begin - position, t->name));
    }
    position = t->end;
  }
  if (position != buffer) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: the data buffer has {} bytes but the tensors cover {}", source, buffer,
                                                  position));
  }
  return header;
}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(fmt::format("opening {}", path.string()), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error(fmt::format("reading {}", path.string()), e);
  }
  MappedFile file;
  file.size_ = static_cast<std::size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return errno_error(fmt::format("mapping {}", path.string()), e);
    }
    file.data_ = static_cast<const std::uint8_t*>(p);
  }
  ::close(fd);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

struct WeightStore::Shard {
  std::string path;
  MappedFile file;
  SafetensorsHeader header;
};

WeightStore::WeightStore(WeightStore&&) noexcept = default;
WeightStore& WeightStore::operator=(WeightStore&&) noexcept = default;
WeightStore::~WeightStore() = default;

Result<WeightStore> WeightStore::open_file(const std::filesystem::path& file) {
  WeightStore store;
  AIRLOCK_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(file));
  AIRLOCK_ASSIGN_OR_RETURN(SafetensorsHeader header, parse_safetensors_header(mapped.bytes(), file.string()));
  auto shard = std::make_unique<Shard>(Shard{file.string(), std::move(mapped), std::move(header)});
  for (std::size_t i = 0; i < shard->header.tensors.size(); ++i) store.index_[shard->header.tensors[i].name] = {0, i};
  store.shards_.push_back(std::move(shard));
  store.description_ = file.string();
  return store;
}

Result<WeightStore> WeightStore::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path single = dir / "model.safetensors";
  if (std::filesystem::exists(single, ec)) return open_file(single);
  std::filesystem::path index_path = dir / "model.safetensors.index.json";
  if (!std::filesystem::exists(index_path, ec)) {
    return not_found(fmt::format("{}: no model.safetensors or model.safetensors.index.json (only safetensors weights are "
                                 "supported; convert pytorch_model.bin first)",
                                 dir.string()));
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::string text, read_file_limited(index_path, 64ull << 20));
  AIRLOCK_ASSIGN_OR_RETURN(JsonValue index, parse_json_value(text, index_path.string()));
  if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object()) {
    return parse_error(fmt::format("{}: no \"weight_map\" object", index_path.string()));
  }
  WeightStore store;
  store.description_ = index_path.string();
  std::map<std::string, std::size_t> shard_of_file;
  const JsonValue& map = index.at("weight_map");
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_string()) return parse_error(fmt::format("{}: weight_map[\"{}\"] is not a file name", index_path.string(), it.key()));
    std::string name = it.value().get<std::string>();
    // Shard names are plain file names beside the index; anything else could escape the snapshot.
    if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "." ||
        name == "..") {
      return parse_error(fmt::format("{}: weight_map[\"{}\"] names \"{}\", which is not a file in the same directory",
                                     index_path.string(), it.key(), name));
    }
    if (!shard_of_file.count(name)) {
      AIRLOCK_ASSIGN_OR_RETURN(WeightStore one, open_file(dir / name));
      shard_of_file[name] = store.shards_.size();
      store.shards_.push_back(std::move(one.shards_[0]));
    }
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::size_t s = shard_of_file.at(it.value().get<std::string>());
    const auto& tensors = store.shards_[s]->header.tensors;
    auto found = std::find_if(tensors.begin(), tensors.end(), [&](const TensorInfo& t) { return t.name == it.key(); });
    if (found == tensors.end()) {
      return Error(ErrorCode::kCorrupt, fmt::format("{}: the index puts \"{}\" in {}, which does not contain it",
                                                    index_path.string(), it.key(), it.value().get<std::string>()));
    }
    store.index_[it.key()] = {s, static_cast<std::size_t>(found - tensors.begin())};
  }
  return store;
}

bool WeightStore::contains(std::string_view name) const { return index_.find(name) != index_.end(); }

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, where] : index_) out.push_back(name);
  return out;
}

Result<TensorView> WeightStore::tensor(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return not_found(fmt::format("{}: missing tensor \"{}\"", description_, name));
  const Shard& shard = *shards_[it->second.first];
  const TensorInfo& info = shard.header.tensors[it->second.second];
  std::size_t offset = 8 + shard.header.header_bytes + info.begin;
  return TensorView{&info, shard.file.bytes().subspan(offset, info.end - info.begin), shard.path};
}

Result<std::vector<float>> WeightStore::load_f32(std::string_view name, const std::vector<std::int64_t>& shape) const {
  AIRLOCK_ASSIGN_OR_RETURN(TensorView view, tensor(name));
  if (view.info->shape != shape) {
    return Error(ErrorCode::kCorrupt, fmt::format("{}: tensor \"{}\" has shape {}, expected {} from config.json", view.file,
                                                  name, shape_string(view.info->shape), shape_string(shape)));
  }
  std::vector<float> out(view.info->elements());
  const std::uint8_t* p = view.bytes.data();
  switch (view.info->dtype) {
    case DType::kF32:
      std::memcpy(out.data(), p, out.size() * 4);
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = half_to_float(h);
      }
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = bf16_to_float(h);
      }
      break;
    default:
      return Error(ErrorCode::kUnsupported, fmt::format("{}: tensor \"{}\" has dtype {}; weights must be F32, F16 or BF16",
                                                        view.file, name, dtype_name(view.info->dtype)));
  }
  return out;
}

}  // namespace airlock::engine

#include "manager/ai_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "core/strings.h"
#include "core/uri.h"
#include "profiles/gpu_table.h"
#include "store/s3_settings.h"

namespace airlock::manager {
namespace {

constexpr int kMaxGpusPerReplica = 8;  // the most GPUs a single node offers (HGX/DGX)
constexpr int kMaxReplicas = 64;
constexpr std::int64_t kMaxMillicores = 256'000;
constexpr std::uint64_t kMinMemory = 256ull << 20;
constexpr std::uint64_t kMaxMemory = 4ull << 40;

bool is_one_of(std::string_view key, std::span<const std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), key) != allowed.end();
}

std::string list_of(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view field : allowed) {
    if (!out.empty()) out += ", ";
    out += field;
  }
  return out;
}

Status reject_unknown_fields(const Json& object, std::span<const std::string_view> allowed, std::string_view what) {
  for (const auto& [key, value] : object.items()) {
    if (!is_one_of(key, allowed)) {
      return invalid_argument(fmt::format("unknown field '{}' in {}: the fields are {}", key, what, list_of(allowed)));
    }
  }
  return ok_status();
}

Result<std::string> string_field(const Json& object, std::string_view key, std::size_t max_size) {
  const Json& value = object.at(std::string(key));
  if (!value.is_string()) return invalid_argument(fmt::format("'{}' must be a string", key));
  std::string text = value.get<std::string>();
  if (text.size() > max_size) return invalid_argument(fmt::format("'{}' is longer than {} characters", key, max_size));
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return invalid_argument(fmt::format("'{}' must not contain control characters", key));
  }
  return text;
}

Result<int> int_field(const Json& object, std::string_view key, int low, int high) {
  const Json& value = object.at(std::string(key));
  if (!value.is_number_integer()) return invalid_argument(fmt::format("'{}' must be a whole number", key));
  const auto number = value.get<std::int64_t>();
  if (number < low || number > high) {
    return invalid_argument(fmt::format("'{}' must be between {} and {} (got {})", key, low, high, number));
  }
  return static_cast<int>(number);
}

Status validate_profile(std::string_view profile) {
  if (profile.size() > 200) return invalid_argument("'profile' is longer than 200 characters");
  return ok_status();
}

// Applies a compute object (all fields optional) onto `compute`.
Status merge_compute(Compute& compute, const Json& body) {
  if (!body.is_object()) {
    return invalid_argument("'compute' must be an object: {\"gpuType\": \"L40S\", \"gpuCount\": 1, \"cpu\": \"4\", \"memory\": \"16Gi\"}");
  }
  AIRLOCK_TRY(reject_unknown_fields(body, kComputeFields, "compute"));
  if (body.contains("gpuType")) {
    if (body["gpuType"].is_null()) {
      compute.gpu_type.clear();
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(compute.gpu_type, string_field(body, "gpuType", 64));
    }
  }
  if (body.contains("gpuCount")) {
    AIRLOCK_ASSIGN_OR_RETURN(compute.gpu_count, int_field(body, "gpuCount", 0, 1'000'000));
  }
  for (const char* key : {"cpu", "memory"}) {
    if (!body.contains(key)) continue;
    const Json& value = body[key];
    std::string text;
    if (value.is_number_integer()) {
      text = std::to_string(value.get<std::int64_t>());
    } else if (value.is_number_float()) {
      text = fmt::format("{}", value.get<double>());
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(text, string_field(body, key, 32));
    }
    (std::string_view(key) == "cpu" ? compute.cpu : compute.memory) = text;
  }
  return ok_status();
}

// The number part and suffix of a Kubernetes quantity ("1.5Gi" -> 1.5, "Gi").
Result<std::pair<double, std::string>> split_quantity(std::string_view text, std::string_view what) {
  const std::string trimmed(trim(text));
  static const std::regex pattern(R"(^([0-9]+(\.[0-9]+)?)([a-zA-Z]*)$)");
  std::smatch match;
  if (!std::regex_match(trimmed, match, pattern)) {
    return invalid_argument(fmt::format("{} '{}' is not a Kubernetes quantity (examples: {})", what, text,
                                        what == "cpu" ? "\"2\", \"500m\", \"1.5\"" : "\"16Gi\", \"512Mi\", \"8G\""));
  }
  return std::make_pair(std::stod(match[1].str()), match[3].str());
}

}  // namespace

std::string_view kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kEmbedding:
      return "embedding";
    case ModelKind::kReranker:
      return "reranker";
    case ModelKind::kLlm:
      return "llm";
    case ModelKind::kClip:
      return "clip";
    case ModelKind::kOcr:
      return "ocr";
  }
  return "embedding";
}

Result<ModelKind> parse_kind(std::string_view text) {
  for (ModelKind kind : {ModelKind::kEmbedding, ModelKind::kReranker, ModelKind::kLlm, ModelKind::kClip, ModelKind::kOcr}) {
    if (text == kind_name(kind)) return kind;
  }
  return invalid_argument(fmt::format("unknown kind '{}': use embedding, reranker, llm, clip or ocr", text));
}

std::string_view status_name(ModelStatus status) {
  switch (status) {
    case ModelStatus::kPending:
      return "Pending";
    case ModelStatus::kReady:
      return "Ready";
    case ModelStatus::kFailed:
      return "Failed";
    case ModelStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

Result<ModelStatus> parse_status(std::string_view text) {
  for (ModelStatus status : {ModelStatus::kPending, ModelStatus::kReady, ModelStatus::kFailed, ModelStatus::kUnknown}) {
    if (iequals(text, status_name(status))) return status;
  }
  return invalid_argument(fmt::format("unknown status '{}': use Pending, Ready, Failed or Unknown", text));
}

std::string_view runtime_name(ModelRuntime runtime) { return runtime == ModelRuntime::kAirlock ? "airlock" : "nim"; }

Json Compute::to_json() const {
  return {{"gpuType", gpu_type}, {"gpuCount", gpu_count}, {"cpu", cpu}, {"memory", memory}};
}

Json CacheState::to_json() const {
  return {{"path", path},   {"profile", profile}, {"files", files}, {"bytes", bytes}, {"verifiedFiles", verified_files},
          {"verifiedBytes", verified_bytes}};
}

CacheState CacheState::from_json(const Json& json) {
  CacheState state;
  if (!json.is_object()) return state;
  state.path = json.value("path", "");
  state.profile = json.value("profile", "");
  state.files = json.value("files", std::uint64_t{0});
  state.bytes = json.value("bytes", std::uint64_t{0});
  state.verified_files = json.value("verifiedFiles", std::uint64_t{0});
  state.verified_bytes = json.value("verifiedBytes", std::uint64_t{0});
  return state;
}

ModelRuntime runtime_for_image(std::string_view image_url) {
  std::string_view name = image_url.substr(0, image_url.find('@'));
  const std::size_t slash = name.rfind('/');
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  return name.starts_with("airlock") ? ModelRuntime::kAirlock : ModelRuntime::kNim;
}

ModelRuntime AiModel::runtime() const { return runtime_for_image(image_url); }

std::string AiModel::kubernetes_name() const {
  std::string out;
  for (char c : name) out += (c == '.' || c == '_') ? '-' : c;
  if (out.empty() || !std::isalpha(static_cast<unsigned char>(out.front()))) out = "m-" + out;
  // Room for the suffixes the deployer adds ("-runtime", "-predictor", "-api-key").
  if (out.size() > 42) out.resize(42);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

Json model_to_json(const AiModel& model, std::string_view endpoint) {
  Json json = {{"id", model.id},
               {"name", model.name},
               {"kind", std::string(kind_name(model.kind))},
               {"description", model.description},
               {"imageUrl", model.image_url},
               {"runtime", std::string(runtime_name(model.runtime()))},
               {"modelProfilesPath", model.model_profiles_path},
               {"profile", model.profile},
               {"compute", model.compute.to_json()},
               {"replicas", model.replicas},
               {"isDefault", model.is_default},
               {"status", std::string(status_name(model.status))},
               {"statusMessage", model.status_message},
               {"endpoint", endpoint.empty() ? Json(nullptr) : Json(std::string(endpoint))},
               {"cache", model.cache.to_json()},
               {"createdAt", model.created_at},
               {"updatedAt", model.updated_at}};
  return json;
}

Status validate_model_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return invalid_argument("'name' must be 1 to 63 characters");
  const auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name) {
    if (!lower_alnum(c) && c != '-' && c != '.') {
      return invalid_argument(fmt::format(
          "'name' '{}' may hold only lowercase letters, digits, '-' and '.' (it names Kubernetes objects and URLs)", name));
    }
  }
  if (!lower_alnum(name.front()) || !lower_alnum(name.back())) {
    return invalid_argument(fmt::format("'name' '{}' must start and end with a lowercase letter or digit", name));
  }
  return ok_status();
}

Status validate_image_url(std::string_view image) {
  if (image.empty()) return invalid_argument("'imageUrl' must name a container image (registry/repository:tag)");
  if (image.find("://") != std::string_view::npos) {
    return invalid_argument(fmt::format(
        "'imageUrl' '{}' is an image reference, not a URL: write it without a scheme (registry.example:5000/nim/model:1.0)",
        image));
  }
  // The distribution reference grammar: [host[:port]/]component(/component)*[:tag][@digest].
  static const std::regex pattern(
      R"(^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?)"
      R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)"
      R"((:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$)");
  if (image.size() > 512 || !std::regex_match(std::string(image), pattern)) {
    return invalid_argument(fmt::format(
        "'imageUrl' '{}' is not a valid image reference: [registry[:port]/]repository[:tag][@sha256:digest], "
        "repository in lowercase",
        image));
  }
  return ok_status();
}

Status validate_model_profiles_path(std::string_view uri) {
  constexpr std::string_view kForms =
      "s3://bucket/prefix, gs://bucket/prefix, hdfs://namenode:port/path, webhdfs://host:port/path, "
      "https://<account>.blob.core.windows.net/<container>/<prefix>, https://host/path or file:///absolute/path";
  if (uri.empty()) return ok_status();  // not deployed yet
  if (uri.find("://") == std::string_view::npos) {
    return invalid_argument(fmt::format("'modelProfilesPath' '{}' needs a scheme: one of {}", uri, kForms));
  }
  auto parsed = parse_uri(uri);
  if (!parsed.ok()) {
    return invalid_argument(fmt::format("'modelProfilesPath' '{}' is not a valid URI ({}): use {}", uri,
                                        parsed.error().message(), kForms));
  }
  const Uri& u = *parsed;
  if (!u.userinfo.empty()) {
    return invalid_argument(
        "'modelProfilesPath' must not carry credentials: give them to the store through its variables "
        "(AWS_ACCESS_KEY_ID, ...) or the Kubernetes Secret the deployer mounts");
  }
  if (!u.query.empty() || !u.fragment.empty()) {
    return invalid_argument(
        "'modelProfilesPath' must not have a query or fragment (a SAS token or signature is a credential: give it "
        "through the store's variables or Secret)");
  }
  for (std::string_view segment : split(u.path, '/')) {
    if (segment == "..") return invalid_argument(fmt::format("'modelProfilesPath' '{}' must not contain '..'", uri));
  }
  const std::string& scheme = u.scheme;
  if (scheme == "s3" || scheme == "gs") {
    if (u.host.empty()) return invalid_argument(fmt::format("'modelProfilesPath' '{}' names no bucket", uri));
    if (scheme == "s3") {
      Status bucket = store::validate_bucket_name(u.host);
      if (!bucket.ok()) return invalid_argument(fmt::format("'modelProfilesPath' '{}': {}", uri, bucket.error().message()));
    } else {
      static const std::regex gcs_bucket(R"(^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$)");
      if (!std::regex_match(u.host, gcs_bucket)) {
        return invalid_argument(fmt::format("'modelProfilesPath' '{}': '{}' is not a valid Google Cloud Storage bucket name",
                                            uri, u.host));
      }
    }
    return ok_status();
  }
  if (scheme == "hdfs" || scheme == "webhdfs") {
    if (u.host.empty()) {
      return invalid_argument(fmt::format("'modelProfilesPath' '{}' names no namenode: {}://host:port/path", uri, scheme));
    }
    if (u.path.empty() || u.path == "/") {
      return invalid_argument(fmt::format("'modelProfilesPath' '{}' names no path below the namenode", uri));
    }
    return ok_status();
  }
  if (scheme == "https") {
    if (u.host.empty()) return invalid_argument(fmt::format("'modelProfilesPath' '{}' names no host", uri));
    const std::string host = to_lower(u.host);
    if (host.ends_with(".blob.core.windows.net") || host.find(".blob.storage.azure.net") != std::string::npos) {
      const auto segments = split(std::string_view(u.path).substr(u.path.starts_with("/") ? 1 : 0), '/');
      if (segments.empty() || segments.front().empty()) {
        return invalid_argument(fmt::format(
            "'modelProfilesPath' '{}' names no container: https://<account>.blob.core.windows.net/<container>/<prefix>", uri));
      }
    }
    return ok_status();
  }
  if (scheme == "file") {
    if (u.path.empty() || u.path.front() != '/') {
      return invalid_argument(fmt::format("'modelProfilesPath' '{}' must be an absolute path: file:///absolute/path", uri));
    }
    return ok_status();
  }
  if (scheme == "http") {
    return invalid_argument(fmt::format(
        "'modelProfilesPath' '{}' uses plain http: stores are reached over https:// (credentials and model bytes "
        "must not cross the network in the clear)",
        uri));
  }
  return invalid_argument(fmt::format("'modelProfilesPath' scheme '{}' is not a store form: use {}", scheme, kForms));
}

Result<std::int64_t> parse_cpu_quantity(std::string_view text) {
  AIRLOCK_ASSIGN_OR_RETURN(auto parts, split_quantity(text, "cpu"));
  double millicores = 0;
  if (parts.second.empty()) {
    millicores = parts.first * 1000;
  } else if (parts.second == "m") {
    millicores = parts.first;
  } else {
    return invalid_argument(fmt::format("cpu '{}' has an unknown suffix '{}': use cores (\"2\") or millicores (\"500m\")",
                                        text, parts.second));
  }
  return static_cast<std::int64_t>(std::llround(millicores));
}

Result<std::uint64_t> parse_memory_quantity(std::string_view text) {
  AIRLOCK_ASSIGN_OR_RETURN(auto parts, split_quantity(text, "memory"));
  static const std::pair<std::string_view, double> kSuffixes[] = {
      {"", 1},           {"k", 1e3},           {"M", 1e6},           {"G", 1e9},           {"T", 1e12},
      {"Ki", 1024.0},    {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}};
  for (const auto& [suffix, factor] : kSuffixes) {
    if (parts.second == suffix) return static_cast<std::uint64_t>(parts.first * factor);
  }
  return invalid_argument(fmt::format("memory '{}' has an unknown suffix '{}': use Ki, Mi, Gi, Ti (or k, M, G, T)", text,
                                      parts.second));
}

Status validate_compute(Compute& compute, ModelRuntime runtime) {
  if (!compute.gpu_type.empty()) {
    const profiles::GpuModel* gpu = profiles::find_gpu_by_name(compute.gpu_type);
    if (gpu == nullptr) {
      return invalid_argument(fmt::format("unknown gpuType '{}': use one of {}", compute.gpu_type,
                                          profiles::known_gpu_names()));
    }
    compute.gpu_type = std::string(gpu->short_name());
    if (compute.gpu_count == 0) {
      return invalid_argument(fmt::format("gpuType {} with gpuCount 0: set gpuCount to at least 1, or clear gpuType for "
                                          "a CPU-only model",
                                          compute.gpu_type));
    }
  }
  if (compute.gpu_count < 0 || compute.gpu_count > kMaxGpusPerReplica) {
    return invalid_argument(fmt::format("gpuCount {} is impossible: a replica runs on one node, and nodes have at most {} GPUs",
                                        compute.gpu_count, kMaxGpusPerReplica));
  }
  if (runtime == ModelRuntime::kNim && compute.gpu_count == 0) {
    return invalid_argument("NIM images need at least one GPU: set compute.gpuCount (and gpuType)");
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::int64_t millicores, parse_cpu_quantity(compute.cpu));
  if (millicores < 100 || millicores > kMaxMillicores) {
    return invalid_argument(fmt::format("cpu '{}' is impossible: between 100m and {} cores", compute.cpu, kMaxMillicores / 1000));
  }
  AIRLOCK_ASSIGN_OR_RETURN(std::uint64_t memory, parse_memory_quantity(compute.memory));
  if (memory < kMinMemory || memory > kMaxMemory) {
    return invalid_argument(fmt::format("memory '{}' is impossible: between 256Mi and 4Ti", compute.memory));
  }
  return ok_status();
}

Result<AiModel> model_from_create_body(const Json& body, const CreateDefaults& defaults) {
  if (!body.is_object()) return invalid_argument("the body must be a JSON object describing the model");
  AIRLOCK_TRY(reject_unknown_fields(body, kCreateFields, "the model"));
  AiModel model;
  if (!body.contains("name")) return invalid_argument("'name' is required");
  AIRLOCK_ASSIGN_OR_RETURN(model.name, string_field(body, "name", 63));
  AIRLOCK_TRY(validate_model_name(model.name));
  if (!body.contains("kind")) return invalid_argument("'kind' is required: embedding, reranker, llm, clip or ocr");
  AIRLOCK_ASSIGN_OR_RETURN(std::string kind, string_field(body, "kind", 32));
  AIRLOCK_ASSIGN_OR_RETURN(model.kind, parse_kind(kind));
  if (body.contains("description")) {
    AIRLOCK_ASSIGN_OR_RETURN(model.description, string_field(body, "description", 1000));
  }
  if (body.contains("imageUrl")) {
    AIRLOCK_ASSIGN_OR_RETURN(model.image_url, string_field(body, "imageUrl", 512));
  } else if (model.kind == ModelKind::kEmbedding || model.kind == ModelKind::kReranker) {
    model.image_url = defaults.airlock_image;
  } else {
    return invalid_argument(fmt::format("'imageUrl' is required for kind {} (airlock's own runtime serves embedding and "
                                        "reranker models)",
                                        kind));
  }
  AIRLOCK_TRY(validate_image_url(model.image_url));
  if (body.contains("modelProfilesPath")) {
    AIRLOCK_ASSIGN_OR_RETURN(model.model_profiles_path, string_field(body, "modelProfilesPath", 2048));
    AIRLOCK_TRY(validate_model_profiles_path(model.model_profiles_path));
  }
  if (body.contains("profile")) {
    AIRLOCK_ASSIGN_OR_RETURN(model.profile, string_field(body, "profile", 200));
    AIRLOCK_TRY(validate_profile(model.profile));
  }
  if (body.contains("compute")) AIRLOCK_TRY(merge_compute(model.compute, body["compute"]));
  if (model.runtime() == ModelRuntime::kNim && !body.contains("compute")) {
    model.compute = Compute{"", 1, "8", "32Gi"};
  }
  AIRLOCK_TRY(validate_compute(model.compute, model.runtime()));
  if (body.contains("replicas")) {
    AIRLOCK_ASSIGN_OR_RETURN(model.replicas, int_field(body, "replicas", 0, kMaxReplicas));
  }
  if (model.runtime() == ModelRuntime::kAirlock && model.kind != ModelKind::kEmbedding &&
      model.kind != ModelKind::kReranker) {
    return invalid_argument(fmt::format("airlock's runtime serves embedding and reranker models, not {}: give the "
                                        "imageUrl of a runtime for it",
                                        kind));
  }
  return model;
}

Result<bool> apply_model_patch(AiModel& model, const Json& body) {
  if (!body.is_object()) return invalid_argument("the body must be a JSON object with the fields to change");
  for (const auto& [key, value] : body.items()) {
    if (is_one_of(key, kPatchFields)) continue;
    if (key == "name" || key == "kind") {
      return invalid_argument(fmt::format("'{}' cannot be changed: create a new model instead", key));
    }
    static constexpr std::string_view kReadOnly[] = {"id",        "status",    "statusMessage", "endpoint", "cache",
                                                     "createdAt", "updatedAt", "isDefault",     "runtime"};
    if (is_one_of(key, kReadOnly)) {
      return invalid_argument(fmt::format("'{}' is read-only", key));
    }
    return invalid_argument(fmt::format("unknown field '{}': the fields a PATCH may change are {}", key, list_of(kPatchFields)));
  }
  AiModel next = model;
  if (body.contains("description")) {
    AIRLOCK_ASSIGN_OR_RETURN(next.description, string_field(body, "description", 1000));
  }
  if (body.contains("imageUrl")) {
    AIRLOCK_ASSIGN_OR_RETURN(next.image_url, string_field(body, "imageUrl", 512));
    AIRLOCK_TRY(validate_image_url(next.image_url));
  }
  if (body.contains("modelProfilesPath")) {
    if (body["modelProfilesPath"].is_null()) {
      next.model_profiles_path.clear();
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(next.model_profiles_path, string_field(body, "modelProfilesPath", 2048));
      AIRLOCK_TRY(validate_model_profiles_path(next.model_profiles_path));
    }
  }
  if (body.contains("profile")) {
    if (body["profile"].is_null()) {
      next.profile.clear();
    } else {
      AIRLOCK_ASSIGN_OR_RETURN(next.profile, string_field(body, "profile", 200));
      AIRLOCK_TRY(validate_profile(next.profile));
    }
  }
  if (body.contains("compute")) AIRLOCK_TRY(merge_compute(next.compute, body["compute"]));
  if (body.contains("replicas")) {
    AIRLOCK_ASSIGN_OR_RETURN(next.replicas, int_field(body, "replicas", 0, kMaxReplicas));
  }
  AIRLOCK_TRY(validate_compute(next.compute, next.runtime()));
  if (next.runtime() == ModelRuntime::kAirlock && next.kind != ModelKind::kEmbedding && next.kind != ModelKind::kReranker) {
    return invalid_argument(fmt::format("airlock's runtime serves embedding and reranker models, not {}",
                                        kind_name(next.kind)));
  }
  const bool redeploy = next.image_url != model.image_url || next.model_profiles_path != model.model_profiles_path ||
                        next.profile != model.profile || next.compute != model.compute || next.replicas != model.replicas;
  model = std::move(next);
  return redeploy;
}

}  // namespace airlock::manager

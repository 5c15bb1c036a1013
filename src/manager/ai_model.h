// An AI model as the manager knows it: what to run (kind, image, model profiles path, profile),
// on what (compute, replicas), and how it is doing (status, endpoint, cache). The JSON form is
// the /api/v1/ai-models wire format; parsing a create or patch body is strict (unknown fields,
// bad URIs, impossible compute are errors that say what to change).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace airlock::manager {

enum class ModelKind { kEmbedding, kReranker, kLlm, kClip, kOcr };
enum class ModelStatus { kPending, kReady, kFailed, kUnknown };
// Which program the image runs: airlock's own runtime (`airlock serve`) or a vendor NIM image,
// which reads the cache that `airlock pull` prepared (NIM_CACHE_PATH).
enum class ModelRuntime { kAirlock, kNim };

std::string_view kind_name(ModelKind kind);
Result<ModelKind> parse_kind(std::string_view text);
std::string_view status_name(ModelStatus status);
Result<ModelStatus> parse_status(std::string_view text);
std::string_view runtime_name(ModelRuntime runtime);

struct Compute {
  std::string gpu_type;  // a known GPU's short name ("L40S", "H100"); "" for any GPU or none
  int gpu_count = 0;
  std::string cpu = "2";       // Kubernetes quantity: "2", "500m"
  std::string memory = "4Gi";  // Kubernetes quantity: "16Gi"

  bool operator==(const Compute&) const = default;
  Json to_json() const;
};

// What the deployment is using, as far as the deployer knows.
struct CacheState {
  std::string path;     // cache directory (local) or mount path (Kubernetes)
  std::string profile;  // the profile the runtime selected
  std::uint64_t files = 0;  // in the store index
  std::uint64_t bytes = 0;
  std::uint64_t verified_files = 0;  // checked against their sha256 by the runtime's pull
  std::uint64_t verified_bytes = 0;

  Json to_json() const;
  static CacheState from_json(const Json& json);
};

struct AiModel {
  std::string id;
  std::string name;
  ModelKind kind = ModelKind::kEmbedding;
  std::string description;
  std::string image_url;
  std::string model_profiles_path;  // "" until set: the model is not deployed
  std::string profile;              // "" for automatic selection
  Compute compute;
  int replicas = 1;
  bool is_default = false;
  ModelStatus status = ModelStatus::kUnknown;
  std::string status_message;
  CacheState cache;
  std::int64_t generation = 1;  // bumped by every change that needs a redeploy
  std::string created_at;
  std::string updated_at;

  ModelRuntime runtime() const;
  // Whether a deployer should run it: a profiles path and at least one replica.
  bool deployable() const { return !model_profiles_path.empty() && replicas > 0; }
  // The name as a Kubernetes object name (DNS-1035 label): '.' and '_' become '-'.
  std::string kubernetes_name() const;
};

// The runtime an image runs: an image whose repository's last segment starts with "airlock" is
// airlock's own runtime; anything else is treated as a NIM image.
ModelRuntime runtime_for_image(std::string_view image_url);

// The model as the API shows it; `endpoint` is the proxy URL ("" when not deployed).
Json model_to_json(const AiModel& model, std::string_view endpoint);

// Validation of single fields, shared by create and patch.
Status validate_model_name(std::string_view name);
Status validate_image_url(std::string_view image);
// The six store forms (s3://, gs://, hdfs://, webhdfs://, Azure Blob https://<account>.blob.core.windows.net/,
// https://) and file:// with an absolute path. Credentials and query strings are refused (they
// belong in the store's credential variables or Secret).
Status validate_model_profiles_path(std::string_view uri);
// "2", "500m", "1.5"; returns millicores.
Result<std::int64_t> parse_cpu_quantity(std::string_view text);
// "16Gi", "512Mi", "1G", "1073741824"; returns bytes.
Result<std::uint64_t> parse_memory_quantity(std::string_view text);
Status validate_compute(Compute& compute, ModelRuntime runtime);

// The fields a client may send; everything else in a body is an error.
inline constexpr std::string_view kCreateFields[] = {"name", "kind", "description", "imageUrl", "modelProfilesPath",
                                                     "profile", "compute", "replicas"};
inline constexpr std::string_view kPatchFields[] = {"description", "imageUrl", "modelProfilesPath", "profile",
                                                    "compute", "replicas"};
inline constexpr std::string_view kComputeFields[] = {"gpuType", "gpuCount", "cpu", "memory"};

struct CreateDefaults {
  std::string airlock_image;  // the image of airlock's own runtime
};

// A model from a POST body (id, timestamps and status left for the caller). `body` must be an object.
Result<AiModel> model_from_create_body(const Json& body, const CreateDefaults& defaults);
// Applies a PATCH body to `model`; returns whether anything that needs a redeploy changed.
Result<bool> apply_model_patch(AiModel& model, const Json& body);

}  // namespace airlock::manager

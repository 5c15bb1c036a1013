// Any bytes as the body of the manager's create and patch requests (the JSON an API client
// sends), as a model profiles path, an image reference and Kubernetes quantities. Whatever is
// accepted must render: the model's JSON, its Kubernetes objects and their YAML.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"
#include "manager/ai_model.h"
#include "manager/kubernetes_manifests.h"
#include "manager/yaml_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace airlock::manager;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)validate_model_profiles_path(text);
  (void)validate_image_url(text);
  (void)parse_cpu_quantity(text);
  (void)parse_memory_quantity(text);
  auto json = airlock::parse_json(text, "fuzz.json");
  if (!json.ok()) return 0;
  auto model = model_from_create_body(*json, CreateDefaults{"airlock:0.1.0"});
  if (model.ok()) {
    model->id = "m-0000000000000000";
    // What create accepted, a patch with the same body must not break.
    AiModel patched = *model;
    (void)apply_model_patch(patched, *json);
    (void)airlock::dump_json(model_to_json(*model, "http://x/inferenceservices/m"));
    KubernetesOptions options;
    options.runtime_image = "airlock:0.1.0";
    for (const char* mode : {"deployment", "kserve"}) {
      options.mode = mode;
      if (to_yaml_documents(render_model_objects(*model, "aup_key", options)).empty()) __builtin_trap();
    }
    if (model->kubernetes_name().empty() || model->kubernetes_name().size() > 42) __builtin_trap();
  }
  AiModel base;
  base.name = "base";
  base.image_url = "airlock:0.1.0";
  (void)apply_model_patch(base, *json);
  return 0;
}

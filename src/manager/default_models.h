// The models a fresh manager lists, as a platform ships them: NVIDIA's NIM images for an LLM,
// text embedding, reranking, image embedding and OCR (with their vendor image URLs, which an
// operator PATCHes to point at the private registry), and airlock's own embedding and reranking
// runtime. None is deployed until it is given a model profiles path.
#pragma once

#include <string>
#include <vector>

#include "manager/ai_model.h"

namespace airlock::manager {

// `airlock_image`: the image of airlock's own runtime (the manager's --runtime-image).
std::vector<AiModel> default_models(const std::string& airlock_image);

// "airlock:<version>": the image that deploy/Containerfile builds.
std::string default_runtime_image();

}  // namespace airlock::manager

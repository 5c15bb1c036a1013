#include "manager/default_models.h"

#include "core/version.h"

namespace airlock::manager {
namespace {

AiModel make(std::string name, ModelKind kind, std::string image, std::string description, Compute compute) {
  AiModel model;
  model.name = std::move(name);
  model.kind = kind;
  model.image_url = std::move(image);
  model.description = std::move(description);
  model.compute = std::move(compute);
  model.replicas = 1;
  return model;
}

}  // namespace

std::string default_runtime_image() { return std::string("airlock:") + std::string(kVersion); }

std::vector<AiModel> default_models(const std::string& airlock_image) {
  return {
      make("llama-3.3-nemotron-super-49b-v1", ModelKind::kLlm, "nvcr.io/nim/nvidia/llama-3.3-nemotron-super-49b-v1:1.8.5",
           "Llama 3.3 Nemotron Super 49B: text completion and chat (NIM)", Compute{"L40S", 4, "16", "128Gi"}),
      make("llama-3.2-nemoretriever-300m-embed-v1", ModelKind::kEmbedding,
           "nvcr.io/nim/nvidia/llama-3.2-nemoretriever-300m-embed-v1:latest",
           "NeMo Retriever 300M: multilingual text embeddings, 2048 dimensions, 8192 tokens (NIM)",
           Compute{"L40S", 1, "8", "32Gi"}),
      make("llama-3.2-nv-rerankqa-1b-v2", ModelKind::kReranker, "nvcr.io/nim/nvidia/llama-3.2-nv-rerankqa-1b-v2:latest",
           "NV-RerankQA 1B: text reranking for retrieval (NIM)", Compute{"L40S", 1, "8", "32Gi"}),
      make("nvclip", ModelKind::kClip, "nvcr.io/nim/nvidia/nvclip:latest", "NV-CLIP: image and text embeddings (NIM)",
           Compute{"L40S", 1, "8", "32Gi"}),
      make("paddleocr", ModelKind::kOcr, "nvcr.io/nim/baidu/paddleocr:latest", "PaddleOCR: text in images (NIM)",
           Compute{"L40S", 1, "8", "32Gi"}),
      make("airlock-embedding", ModelKind::kEmbedding, airlock_image,
           "airlock's own runtime: Hugging Face encoder embeddings (BERT, XLM-R) from a pushed cache, CPU or GPU",
           Compute{"", 0, "2", "4Gi"}),
      make("airlock-reranker", ModelKind::kReranker, airlock_image,
           "airlock's own runtime: cross-encoder reranking from a pushed cache, CPU or GPU", Compute{"", 0, "2", "4Gi"}),
  };
}

}  // namespace airlock::manager

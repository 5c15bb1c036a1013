// A small BERT-architecture model with RANDOM weights, written from nothing in milliseconds: the
// model the quickstart serves on a machine with no network, and the one the server tests and
// benchmarks generate instead of running PyTorch. Everything but the weights is real: a
// Hugging Face config.json, model.safetensors, a WordPiece tokenizer.json over a vocabulary of a
// few thousand English wordpieces (lower-cased, so any ASCII word tokenizes without [UNK]), and
// the sentence-transformers files (mean pooling, Normalize, query/passage prompts). Its vectors
// are deterministic for a seed and carry no meaning; config.json says so in "airlock_demo".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace airlock::engine {

// The label every writer of a demo model prints, so nobody mistakes it for a trained one.
inline constexpr std::string_view kDemoModelNotice =
    "random weights: a real BERT architecture and tokenizer, but not a trained model (its vectors carry no meaning)";

enum class DemoModelKind {
  kEmbedding,  // BertModel + mean pooling + Normalize
  kReranker,   // BertForSequenceClassification with one label (a cross-encoder)
};

struct DemoModelOptions {
  DemoModelKind kind = DemoModelKind::kEmbedding;
  int layers = 2;
  int hidden = 128;
  int heads = 4;
  int intermediate = 512;
  int max_positions = 512;
  // sentence_bert_config.json's max_seq_length (tokens per input, specials included); 0: none.
  int max_seq_length = 256;
  std::uint64_t seed = 20240607;
};

struct DemoModelSummary {
  std::vector<std::string> files;  // relative to the directory, sorted
  std::size_t vocab_size = 0;
  std::uint64_t parameters = 0;
  std::uint64_t bytes = 0;  // of all files
};

// Writes the model's files into `dir` (created if needed; existing files are replaced).
Result<DemoModelSummary> write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options = {});

// The demo vocabulary, in id order: [PAD] [UNK] [CLS] [SEP] [MASK], punctuation, digits, letters,
// "##" continuations (single characters and letter pairs), common suffixes, common words.
std::vector<std::string> demo_vocabulary();

}  // namespace airlock::engine

#include "engine/demo_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include "core/file_io.h"
#include "core/json.h"

namespace airlock::engine {
namespace {

// Common English words (lower case). With the letters and "##" pieces below, every ASCII word
// has a tokenization; these make ordinary text come out as whole words, as a trained vocabulary
// would.
constexpr std::string_view kWords = R"(
the of and to in is was it for on with as by at be this that from or an are not have has had
but were which you all their they one can there been if more when will would who so no she he
her his him its our we us me my your them these those than then what about out up into only
other some time could also after first two new any like may over such most people made state
years many where year over before through back much how used years way well down should because
each just time between under last while long being both very even still world life same part
here might own work day good place show great high large small big old young right left public
long little know see get make think take come give look want use find tell ask seem feel try
leave call keep let begin help talk turn start might move live believe hold bring happen write
provide sit stand lose pay meet include continue set learn change lead understand watch follow
stop create speak read allow add spend grow open walk win offer remember love consider appear
buy wait serve die send expect build stay fall cut reach kill remain suggest raise pass sell
require report decide pull return explain hope develop carry break receive agree support hit
produce eat cover catch draw choose cause point run play pay hear mean water city home room
mother father area money story fact month lot right study book eye job word business issue side
kind head house service friend power hour game line end member law car name president team
minute idea kid body information back parent face others level office door health person art
war history party result change morning reason research girl guy moment air teacher force
education foot boy age policy music market sense nation plan college interest death experience
effect class control care field development role effort rate heart drug show leader light voice
wife police mind price report decision son view relationship town road arm difference value
building action model season society tax director position player record paper space ground
form event official matter center couple site project activity star table need court american
oil situation cost industry figure street image phone data picture practice piece land product
doctor wall patient worker news test movie north love support technology step baby computer type
attention film tree source organization hair window evidence population truth song dinner hand
school country group problem system program question government number night point company case
week thing family student woman child man men women children problem fact lot hand eye
gap air hello world airlock model models embedding embeddings vector vectors text texts token
tokens query passage search document documents server client request response cluster storage
object cache profile profiles network offline online local remote file files path store stores
engine batch batches input output inputs outputs layer layers weight weights random demo sample
example examples sentence sentences language english meaning similar similarity score scores
rank ranking rerank answer answers retrieval question questions context length maximum minimum
red blue green black white yellow orange purple brown gray dark bright light heavy simple easy
hard strong weak fast slow quick quiet loud hot cold warm cool dry wet clean dirty full empty
rich poor happy sad angry afraid ready sure free busy true false real fine nice bad best better
worse worst early late near far deep wide high low short tall thin thick sharp soft smooth rough
safe dangerous important possible different whole certain clear recent major national local
political social human international economic private special general personal current single
available likely hard similar natural medical central common serious physical military final
main significant popular traditional cultural environmental financial foreign global legal
modern nuclear original professional scientific technical visual wrong ancient annual basic
chemical complex digital electric entire formal ideal logical mental mobile moral native normal
obvious official perfect positive primary proper rare regular remote senior solid specific
standard strict sudden typical unique universal urban usual valid vast vital wild
always never often sometimes usually again already almost also away back even ever far here
however instead later maybe much now once only perhaps quite rather really soon still then there
therefore today together tomorrow too very well yesterday yet ago ahead alone along around below
above across against among behind beside beyond during except inside near outside since toward
towards upon within without until unless whether while although though whatever whenever
whoever wherever everything something nothing anything everyone someone anyone nobody everybody
somebody each every either neither both few several enough less least more most own same such
one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred
thousand million billion first second third fourth fifth last next half double single
monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december spring summer autumn winter day days week weeks
month months year years hour hours minute minutes second seconds morning evening night today
sun moon sky cloud rain snow wind storm weather sea ocean river lake mountain hill valley forest
island beach desert field garden park farm village city country world earth fire stone rock
sand wood metal gold silver iron glass paper plastic cotton leather food bread rice meat fish
chicken egg milk cheese butter sugar salt fruit apple banana orange grape lemon vegetable potato
tomato onion coffee tea wine beer juice soup cake dog cat horse cow pig sheep bird mouse lion
tiger bear wolf fox rabbit snake insect bee tree flower grass leaf seed root plant animal
head face eye ear nose mouth tooth teeth lip neck shoulder arm hand finger leg knee foot feet
back skin bone blood heart brain body hair doctor nurse teacher student engineer scientist
artist writer driver farmer worker manager owner king queen prince soldier officer judge lawyer
friend enemy neighbor guest host stranger brother sister husband wife daughter son uncle aunt
cousin baby adult person people family house home room kitchen bedroom bathroom door window wall
floor roof stairs table chair bed desk shelf lamp clock phone computer screen keyboard camera
radio television machine tool knife fork spoon plate cup bottle box bag key lock car bus train
plane ship boat bike road street bridge station airport hotel hospital school library museum
church bank shop market restaurant office factory prison theater stadium
account address age amount answer army attack balance bill board box brain branch cause chance
character charge choice circle coast code condition contract copy corner course crowd culture
current damage debate degree demand design detail device direction disease distance doubt drama
edge effect element energy engine entry error estimate exercise expert extent failure feature
fee fight flight focus function future goal grade growth guide habit harm income index injury
instance insurance item journey key knowledge labor lack length limit link loss machine manner
mark match material measure memory message method middle mission mixture mode motion name nature
note notice object opinion option order outcome owner pace pain pair pattern peace period phase
pilot pleasure pocket poem pressure principle priority process profit progress property purpose
quality quantity quarter range ratio reaction region release rest risk rule sale scale scene
scheme science score screen section security sequence series session shape share shift sign
signal skill solution sort speed stage status step stock strategy stress structure style
subject success supply surface survey symbol target task term theory threat title topic total
track trade traffic transfer trend trial trip trouble trust unit user variety version victim
video volume vote wave wealth weight while wind wish worth
accept achieve act adapt admit adopt affect afford agree aim allow analyze announce apply argue
arrange arrive assume attach attempt attend avoid base bear beat become belong bind blow boil
borrow bother breathe burn calculate cancel care celebrate check claim clean climb close collect
combine compare compete complain complete concern confirm connect contain contribute convert
cook copy correct count crash cross cry damage deal deliver deny depend describe deserve destroy
detect determine die differ discover discuss divide drink drive drop earn edit enable encourage
enjoy ensure enter escape establish examine exist expand explore express extend fail fill
finish fix fly focus forget forgive form gain gather generate guess handle hang hate hide hire
identify ignore imagine improve increase indicate influence inform insist install intend invest
invite involve join judge jump kick kiss knock land laugh launch lay lie lift link listen load
locate maintain manage mark marry matter measure mention mind miss mix obtain occur operate
order organize own pack paint perform permit pick plan pour prefer prepare present press prevent
print process promise protect prove publish push recognize record reduce refer reflect refuse
relate release rely remove repeat replace respond rest reveal ride ring rise roll rush save
search select separate settle shake share shoot shut sing sink skip sleep slide smile solve sort
split spread steal stick store strike struggle study suffer suit supply survive switch teach
tend test thank throw touch train travel treat trust twist vary visit vote wake warn wash wear
wonder worry wrap yell
is am are was were be been being do does did done doing have has had having go goes went gone
going get gets got getting make makes made making say says said saying see sees saw seen know
knew known take took taken come came give gave given find found tell told think thought feel
felt leave left bring brought begin began begun keep kept hold held write wrote written stand
stood hear heard let mean meant set meet met run ran pay paid sit sat speak spoke spoken lie lay
lead led read grow grew grown lose lost fall fell fallen send sent build built understand
understood draw drew drawn break broke broken spend spent cut rise rose drive drove driven buy
bought wear wore worn choose chose chosen
i a an the and or but nor so for yet of at by in on to up as it its he him his she her hers
they them their theirs we us our ours you your yours my mine me this that these those who whom
whose which what where when why how all any some no not yes ok okay please thanks thank sorry
hi hey bye goodbye welcome dear mr mrs ms dr
)";

// Continuations that English words end with.
constexpr std::string_view kSuffixes = R"(
s es ed d ing er ers est ly y ies ied tion tions sion ment ments ness ful less able ible al ial
ic ical ous ious ive ize ise ized ised izing ity ance ence ant ent ship hood ward wards ism ist
ists ian age ure ory ary ery ish ite ify fied en th un re pre dis mis non over under out
)";

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// Deterministic normal samples (splitmix64 + Box-Muller), the same on every platform, unlike
// std::normal_distribution.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double uniform() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (static_cast<double>(z >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
  }
  float normal(double stddev) {
    double u1 = uniform(), u2 = uniform();
    return static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  std::uint64_t state_;
};

struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

class TensorWriter {
 public:
  explicit TensorWriter(std::uint64_t seed) : random_(seed) {}
  void normal(std::string name, std::vector<std::int64_t> shape, double stddev = 0.02) {
    Tensor t{std::move(name), std::move(shape), {}};
    t.values.resize(count(t.shape));
    for (float& v : t.values) v = random_.normal(stddev);
    tensors_.push_back(std::move(t));
  }
  void constant(std::string name, std::vector<std::int64_t> shape, float value) {
    Tensor t{std::move(name), std::move(shape), {}};
    t.values.assign(count(t.shape), value);
    tensors_.push_back(std::move(t));
  }
  void linear(const std::string& name, std::int64_t out, std::int64_t in) {
    normal(name + ".weight", {out, in});
    constant(name + ".bias", {out}, 0.0f);
  }
  void layer_norm(const std::string& name, std::int64_t size) {
    constant(name + ".weight", {size}, 1.0f);
    constant(name + ".bias", {size}, 0.0f);
  }
  std::uint64_t parameters() const {
    std::uint64_t n = 0;
    for (const Tensor& t : tensors_) n += t.values.size();
    return n;
  }
  // The safetensors file: u64 header length, JSON header (sorted names, padded with spaces to a
  // multiple of 8 so the data is aligned), then the little-endian F32 data.
  std::string serialize() {
    std::sort(tensors_.begin(), tensors_.end(), [](const Tensor& a, const Tensor& b) { return a.name < b.name; });
    Json header = Json::object();
    header["__metadata__"] = {{"format", "pt"}, {"airlock_demo", "random weights"}};
    std::uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
      std::uint64_t bytes = t.values.size() * sizeof(float);
      header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
      offset += bytes;
    }
    std::string json = dump_json(header);
    while (json.size() % 8 != 0) json.push_back(' ');
    std::string out;
    out.reserve(8 + json.size() + offset);
    std::uint64_t n = json.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += json;
    for (const Tensor& t : tensors_) {
      // The host is little-endian (x86-64, aarch64), like the format.
      out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    }
    return out;
  }

 private:
  static std::size_t count(const std::vector<std::int64_t>& shape) {
    std::size_t n = 1;
    for (std::int64_t d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
  Random random_;
  std::vector<Tensor> tensors_;
};

Json tokenizer_json(const std::vector<std::string>& vocab) {
  Json vocab_map = Json::object();
  for (std::size_t i = 0; i < vocab.size(); ++i) vocab_map[vocab[i]] = i;
  Json added = Json::array();
  for (int id = 0; id < 5; ++id) {
    added.push_back({{"id", id},
                     {"content", vocab[static_cast<std::size_t>(id)]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  Json post = {{"type", "TemplateProcessing"},
               {"single", Json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                       {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}})},
               {"pair", Json::array({{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "B"}, {"type_id", 1}}}},
                                     {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 1}}}}})},
               {"special_tokens",
                {{"[CLS]", {{"id", "[CLS]"}, {"ids", {2}}, {"tokens", {"[CLS]"}}}},
                 {"[SEP]", {{"id", "[SEP]"}, {"ids", {3}}, {"tokens", {"[SEP]"}}}}}}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer",
           {{"type", "BertNormalizer"},
            {"clean_text", true},
            {"handle_chinese_chars", true},
            {"strip_accents", nullptr},
            {"lowercase", true}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor", post},
          {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
          {"model",
           {{"type", "WordPiece"},
            {"unk_token", "[UNK]"},
            {"continuing_subword_prefix", "##"},
            {"max_input_chars_per_word", 100},
            {"vocab", vocab_map}}}};
}

}  // namespace

std::vector<std::string> demo_vocabulary() {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::set<std::string> seen(vocab.begin(), vocab.end());
  auto add = [&](std::string piece) {
    if (seen.insert(piece).second) vocab.push_back(std::move(piece));
  };
  // Every printable ASCII punctuation character is its own pre-token, so each needs an id.
  for (char c = 33; c < 127; ++c) {
    if (!std::isalnum(static_cast<unsigned char>(c))) add(std::string(1, c));
  }
  for (char c = '0'; c <= '9'; ++c) add(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) add("##" + std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) add("##" + std::string(1, c));
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'z'; ++b) add(std::string("##") + a + b);
  }
  for (std::string_view s : words_of(kSuffixes)) add("##" + std::string(s));
  for (std::string_view w : words_of(kWords)) add(std::string(w));
  return vocab;
}

Result<DemoModelSummary> write_demo_model(const std::filesystem::path& dir, const DemoModelOptions& options) {
  if (options.layers < 1 || options.hidden < 8 || options.heads < 1 || options.hidden % options.heads != 0 ||
      options.intermediate < 1 || options.max_positions < 8) {
    return invalid_argument(fmt::format(
        "demo model: layers >= 1, hidden >= 8 and divisible by heads, intermediate >= 1 and max positions >= 8 are "
        "required (got {} layers, hidden {}, {} heads, intermediate {}, {} positions)",
        options.layers, options.hidden, options.heads, options.intermediate, options.max_positions));
  }
  if (options.max_seq_length > options.max_positions) {
    return invalid_argument("demo model: max_seq_length cannot exceed the position table");
  }
  const bool reranker = options.kind == DemoModelKind::kReranker;
  const std::vector<std::string> vocab = demo_vocabulary();
  const auto v = static_cast<std::int64_t>(vocab.size());
  const std::int64_t d = options.hidden, ff = options.intermediate;

  TensorWriter w(options.seed);
  // A reranker keeps BertForSequenceClassification's names ("bert." + classifier); an embedding
  // model is saved the way sentence-transformers saves a BertModel (no prefix).
  const std::string p = reranker ? "bert." : "";
  w.normal(p + "embeddings.word_embeddings.weight", {v, d});
  w.normal(p + "embeddings.position_embeddings.weight", {options.max_positions, d});
  w.normal(p + "embeddings.token_type_embeddings.weight", {2, d});
  w.layer_norm(p + "embeddings.LayerNorm", d);
  for (int i = 0; i < options.layers; ++i) {
    std::string l = fmt::format("{}encoder.layer.{}.", p, i);
    w.linear(l + "attention.self.query", d, d);
    w.linear(l + "attention.self.key", d, d);
    w.linear(l + "attention.self.value", d, d);
    w.linear(l + "attention.output.dense", d, d);
    w.layer_norm(l + "attention.output.LayerNorm", d);
    w.linear(l + "intermediate.dense", ff, d);
    w.linear(l + "output.dense", d, ff);
    w.layer_norm(l + "output.LayerNorm", d);
  }
  w.linear(p + "pooler.dense", d, d);
  if (reranker) {
    w.normal("classifier.weight", {1, d}, 0.5);
    w.constant("classifier.bias", {1}, 0.0f);
  }

  Json config = {
      {"architectures", {reranker ? "BertForSequenceClassification" : "BertModel"}},
      {"model_type", "bert"},
      {"vocab_size", v},
      {"hidden_size", d},
      {"num_hidden_layers", options.layers},
      {"num_attention_heads", options.heads},
      {"intermediate_size", ff},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"attention_probs_dropout_prob", 0.1},
      {"max_position_embeddings", options.max_positions},
      {"type_vocab_size", 2},
      {"initializer_range", 0.02},
      {"layer_norm_eps", 1e-12},
      {"pad_token_id", 0},
      {"position_embedding_type", "absolute"},
      {"torch_dtype", "float32"},
      {"airlock_demo",
       {{"weights", "random"}, {"seed", options.seed}, {"notice", std::string(kDemoModelNotice)}}}};
  if (reranker) {
    config["id2label"] = {{"0", "LABEL_0"}};
    config["label2id"] = {{"LABEL_0", 0}};
  }

  std::map<std::string, std::string> files;
  files["config.json"] = dump_json(config, 2) + "\n";
  files["model.safetensors"] = w.serialize();
  files["tokenizer.json"] = dump_json(tokenizer_json(vocab)) + "\n";
  files["tokenizer_config.json"] =
      dump_json(Json{{"tokenizer_class", "BertTokenizer"},
                     {"do_lower_case", true},
                     {"model_max_length", options.max_seq_length > 0 ? options.max_seq_length : options.max_positions},
                     {"unk_token", "[UNK]"},
                     {"sep_token", "[SEP]"},
                     {"pad_token", "[PAD]"},
                     {"cls_token", "[CLS]"},
                     {"mask_token", "[MASK]"}},
                2) +
      "\n";
  files["special_tokens_map.json"] = dump_json(Json{{"unk_token", "[UNK]"},
                                                    {"sep_token", "[SEP]"},
                                                    {"pad_token", "[PAD]"},
                                                    {"cls_token", "[CLS]"},
                                                    {"mask_token", "[MASK]"}},
                                               2) +
                                     "\n";
  std::string vocab_txt;
  for (const std::string& piece : vocab) vocab_txt += piece + "\n";
  files["vocab.txt"] = vocab_txt;
  if (!reranker) {
    files["modules.json"] =
        dump_json(Json::array({{{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}},
                               {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}},
                               {{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}}}),
                  2) +
        "\n";
    files["1_Pooling/config.json"] = dump_json(Json{{"word_embedding_dimension", d},
                                                    {"pooling_mode_cls_token", false},
                                                    {"pooling_mode_mean_tokens", true},
                                                    {"pooling_mode_max_tokens", false},
                                                    {"pooling_mode_mean_sqrt_len_tokens", false},
                                                    {"pooling_mode_weightedmean_tokens", false},
                                                    {"pooling_mode_lasttoken", false},
                                                    {"include_prompt", true}},
                                               2) +
                                     "\n";
    // E5-style prompts, so that NIM's input_type (query / passage) changes the vectors.
    files["config_sentence_transformers.json"] =
        dump_json(Json{{"prompts", {{"query", "query: "}, {"passage", "passage: "}}},
                       {"default_prompt_name", nullptr},
                       {"similarity_fn_name", "cosine"}},
                  2) +
        "\n";
  }
  if (options.max_seq_length > 0) {
    files["sentence_bert_config.json"] =
        dump_json(Json{{"max_seq_length", options.max_seq_length}, {"do_lower_case", false}}, 2) + "\n";
  }
  files["README.md"] = fmt::format(
      "# airlock demo model ({})\n\nThis model has {}. It was written by `airlock` with seed {} so that the air-gap\n"
      "workflow can be tried without a download. Use a real model (for example `--model hf://BAAI/bge-small-en-v1.5`)\n"
      "for anything that needs meaningful vectors.\n",
      reranker ? "reranker" : "embedding", kDemoModelNotice, options.seed);

  DemoModelSummary summary;
  summary.vocab_size = vocab.size();
  summary.parameters = w.parameters();
  AIRLOCK_TRY(make_directories(dir));
  for (const auto& [name, content] : files) {
    std::filesystem::path path = dir / name;
    AIRLOCK_TRY(make_directories(path.parent_path()));
    AIRLOCK_TRY(write_file_atomic(path, content));
    summary.files.push_back(name);
    summary.bytes += content.size();
  }
  return summary;
}

}  // namespace airlock::engine

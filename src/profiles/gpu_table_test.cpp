#include "profiles/gpu_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace airlock::profiles {
namespace {

struct ReferenceRow {
  std::uint16_t device_id;
  std::string_view product_name;
  std::string_view family;
  std::string_view gpu_tag;
};

// docs/reference nim-and-platform.md section 3, every id it lists. Families and tags are the
// documented ones where the reference gives them.
constexpr ReferenceRow kReference[] = {
    {0x20b2, "NVIDIA A100-SXM4-80GB", "A100 80GB", "A100"},
    {0x20b0, "NVIDIA A100-SXM4-40GB", "", "A100_SXM4_40GB"},
    {0x20b5, "NVIDIA A100 80GB PCIe", "", "A100_PCIE_80GB"},
    {0x20f1, "NVIDIA A100-PCIE-40GB", "", "A100_PCIE_40GB"},
    {0x2330, "NVIDIA H100 80GB HBM3", "H100 80GB", "H100"},
    {0x2321, "NVIDIA H100 NVL", "", "H100_NVL"},
    {0x2331, "NVIDIA H100 PCIe", "", "H100_PCIE"},
    {0x2335, "NVIDIA H200", "", "H200"},
    {0x2901, "NVIDIA B200", "", "B200"},
    {0x26b9, "NVIDIA L40S", "L40S", "L40S"},
    // The operator's fixtures tag 26b5 L40S; the PCI registry says L40, and so do we.
    {0x26b5, "NVIDIA L40", "", "L40"},
    {0x27b8, "NVIDIA L4", "", "L4"},
    {0x1eb8, "Tesla T4", "", "T4"},
    {0x2236, "NVIDIA A10", "", "A10"},
    {0x2237, "NVIDIA A10G", "", "A10G"},
    // NIM prints RTX 6000 Ada without a family.
    {0x26b1, "NVIDIA RTX 6000 Ada Generation", "", "RTX6000_ADA"},
    {0x2230, "NVIDIA RTX A6000", "", "RTX_A6000"},
    {0x1fb1, "NVIDIA T600", "", "T600"},
};

TEST(GpuTable, EveryReferenceIdMapsToItsDocumentedModel) {
  for (const ReferenceRow& row : kReference) {
    SCOPED_TRACE(format_pci_id(row.device_id));
    const GpuModel* model = find_gpu_by_device_id(row.device_id);
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->device_id, row.device_id);
    EXPECT_EQ(model->product_name, row.product_name);
    EXPECT_EQ(model->family, row.family);
    EXPECT_EQ(model->gpu_tag, row.gpu_tag);
  }
}

TEST(GpuTable, EveryModelIsComplete) {
  for (const GpuModel& model : all_gpu_models()) {
    SCOPED_TRACE(std::string(model.product_name));
    EXPECT_FALSE(model.product_name.empty());
    EXPECT_FALSE(model.gpu_tag.empty());
    EXPECT_GT(model.memory_bytes, 1ull << 30);
    EXPECT_GE(model.cc_major, 7);
    EXPECT_LE(model.cc_minor, 9);
    // GPU Feature Discovery's label is the NVML name with dashes.
    std::string label(model.product_name);
    std::replace(label.begin(), label.end(), ' ', '-');
    EXPECT_EQ(model.product_label, label);
    // The tag is the manifest form: upper case, digits and underscores.
    for (char c : model.gpu_tag) EXPECT_TRUE(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(c) || c == '_') << c;
  }
}

TEST(GpuTable, ComputeCapabilityFollowsTheArchitecture) {
  EXPECT_EQ(find_gpu_by_device_id(0x20b2)->cc_major, 8);  // Ampere GA100
  EXPECT_EQ(find_gpu_by_device_id(0x2237)->cc_minor, 6);  // Ampere GA102
  EXPECT_EQ(find_gpu_by_device_id(0x26b9)->cc_minor, 9);  // Ada
  EXPECT_EQ(find_gpu_by_device_id(0x2330)->cc_major, 9);  // Hopper
  EXPECT_EQ(find_gpu_by_device_id(0x2901)->cc_major, 10); // Blackwell
  EXPECT_EQ(find_gpu_by_device_id(0x1eb8)->cc_minor, 5);  // Turing
}

TEST(GpuTable, EveryNameResolvesToItsOwnModel) {
  for (const GpuModel& model : all_gpu_models()) {
    SCOPED_TRACE(std::string(model.product_name));
    // Entries that share a product name (a second PCI id of one board) resolve to the first.
    const GpuModel* by_product = find_gpu_by_name(model.product_name);
    ASSERT_NE(by_product, nullptr);
    EXPECT_EQ(by_product->product_name, model.product_name);
    const GpuModel* by_label = find_gpu_by_name(model.product_label);
    ASSERT_NE(by_label, nullptr);
    EXPECT_EQ(by_label->product_name, model.product_name);

    std::string_view names = model.names;
    while (!names.empty()) {
      std::string_view name = names.substr(0, names.find('|'));
      const GpuModel* found = find_gpu_by_name(name);
      EXPECT_EQ(found, &model) << "name " << name << " belongs to "
                               << (found ? std::string(found->product_name) : "nothing");
      names.remove_prefix(std::min(names.size(), name.size() + 1));
    }
  }
}

TEST(GpuTable, ShortNamesAreUnique) {
  std::set<std::string> seen;
  for (const GpuModel& model : all_gpu_models()) {
    if (model.names.empty()) continue;
    EXPECT_TRUE(seen.insert(std::string(model.short_name())).second) << model.short_name();
  }
}

TEST(GpuTable, FindsWhatPeopleType) {
  const struct {
    std::string_view typed;
    std::uint16_t device_id;
  } cases[] = {
      {"H100", 0x2330},
      {"h100", 0x2330},
      {"H100-80GB", 0x2330},
      {"H100 SXM5", 0x2330},
      {"  h100  ", 0x2330},
      {"NVIDIA H100 80GB HBM3", 0x2330},
      {"NVIDIA-H100-80GB-HBM3", 0x2330},
      {"H100 NVL", 0x2321},
      {"H100_NVL", 0x2321},
      {"h100-nvl", 0x2321},
      {"H100 PCIe", 0x2331},
      {"L40S", 0x26b9},
      {"l40s", 0x26b9},
      {"L40", 0x26b5},
      {"L4", 0x27b8},
      {"A100", 0x20b2},
      {"a100-80gb", 0x20b2},
      {"A100-40GB", 0x20b0},
      {"A100_SXM4_40GB", 0x20b0},
      {"NVIDIA A100-SXM4-80GB", 0x20b2},
      {"A100 PCIe 40GB", 0x20f1},
      {"A10", 0x2236},
      {"A10G", 0x2237},
      {"H200", 0x2335},
      {"H200 NVL", 0x233b},
      {"GH200", 0x2342},
      {"H20", 0x2329},
      {"B200", 0x2901},
      {"RTX6000ADA", 0x26b1},
      {"RTX 6000 Ada", 0x26b1},
      {"NVIDIA RTX 6000 Ada Generation", 0x26b1},
      {"A6000", 0x2230},
      {"T4", 0x1eb8},
      {"Tesla T4", 0x1eb8},
      {"V100", 0x1db5},
  };
  for (const auto& c : cases) {
    const GpuModel* model = find_gpu_by_name(c.typed);
    ASSERT_NE(model, nullptr) << c.typed;
    EXPECT_EQ(model->device_id, c.device_id) << c.typed;
  }
}

TEST(GpuTable, UnknownNamesAreNotFound) {
  for (std::string_view typed : {"", "   ", "H999", "NVIDIA", "Tesla", "A1000", "H100-40GB", "2330", "2330:10de"}) {
    EXPECT_EQ(find_gpu_by_name(typed), nullptr) << typed;
  }
}

TEST(GpuTable, SharedDeviceIdIsToldApartByName) {
  const GpuModel* a2 = find_gpu_by_device_and_name(0x25b6, "NVIDIA A2");
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(a2->gpu_tag, "A2");
  const GpuModel* a16 = find_gpu_by_device_and_name(0x25b6, "NVIDIA A16");
  ASSERT_NE(a16, nullptr);
  EXPECT_EQ(a16->gpu_tag, "A16");
  // Without a name the first entry for the id stands in.
  EXPECT_EQ(find_gpu_by_device_and_name(0x25b6, ""), find_gpu_by_device_id(0x25b6));
  EXPECT_EQ(find_gpu_by_device_and_name(0xffff, "NVIDIA A2"), nullptr);
}

TEST(GpuTable, KnownNamesListsShortNames) {
  std::string names = known_gpu_names();
  for (std::string_view name : {"A100, ", "A100-40GB", "H100, ", "H100-NVL", "L40S", "RTX6000-Ada", "T4"}) {
    EXPECT_NE(names.find(name), std::string::npos) << name << " in " << names;
  }
}

TEST(PciId, ParsesTheFormsPeopleCopy) {
  const struct {
    std::string_view text;
    PciId expected;
  } cases[] = {
      {"2330:10de", {0x2330, 0x10de}},
      {"2330:10DE", {0x2330, 0x10de}},
      {" 2330:10de ", {0x2330, 0x10de}},
      {"26B9:10de", {0x26b9, 0x10de}},
      {"2330", {0x2330, 0x10de}},
      {"0x2330", {0x2330, 0x10de}},
      {"0X2330", {0x2330, 0x10de}},
      {"0x1eb8", {0x1eb8, 0x10de}},
      // lspci's vendor:device order, recognisable because 10de is on the left only.
      {"10de:2330", {0x2330, 0x10de}},
      // NVML's combined pciDeviceId as nvidia-smi -q prints it.
      {"0x233010DE", {0x2330, 0x10de}},
      // NIM order wins when it cannot be told apart.
      {"10de:10de", {0x10de, 0x10de}},
      {"1234:1002", {0x1234, 0x1002}},
  };
  for (const auto& c : cases) {
    auto parsed = parse_pci_id(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.error().message();
    EXPECT_EQ(*parsed, c.expected) << c.text;
  }
}

TEST(PciId, RejectsWhatIsNotOne) {
  for (std::string_view text : {"", "   ", "zzzz", "233", "23300", "2330:", ":10de", "2330:10de:1", "2330-10de",
                                "2330:10d", "0x", "0x12345", "g330", "H100", "0x2330:10de"}) {
    auto parsed = parse_pci_id(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("2330:10de"), std::string::npos) << parsed.error().message();
  }
}

TEST(PciId, FormatsDeviceFirstInLowerCase) {
  EXPECT_EQ(format_pci_id(0x2330), "2330:10de");
  EXPECT_EQ(format_pci_id(0x1EB8, 0x10DE), "1eb8:10de");
  EXPECT_EQ(format_pci_id(0x00ab, 0x1002), "00ab:1002");
  EXPECT_EQ(format_pci_id(PciId{0x26b9, 0x10de}), "26b9:10de");
  for (const GpuModel& model : all_gpu_models()) {
    auto parsed = parse_pci_id(format_pci_id(model.device_id));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->device_id, model.device_id);
  }
}

}  // namespace
}  // namespace airlock::profiles

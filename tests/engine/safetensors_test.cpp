#include "mat/engine/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "engine/golden.h"
#include "mat/core/error.h"
#include "mat/core/temp_dir.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file with the given header text and `data_size` zero bytes of data.
std::string make_file(const std::string& header, std::size_t data_size) {
  std::string out(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_size, '\0');
}

std::string open_error(const fs::path& path) {
  try {
    SafetensorsFile::open(path);
  } catch (const core::Error& e) {
    return e.what();
  }
  return "";
}

class SafetensorsTest : public ::testing::Test {
 protected:
  core::TempDir dir_{"mat-safetensors-test"};
  fs::path file(const std::string& name) const { return dir_.path() / name; }
};

TEST(SafetensorsGolden, ReadsEveryFixtureTensor) {
  int files = 0;
  int tensors = 0;
  for (const auto& entry : fs::recursive_directory_iterator(testing::golden_dir())) {
    if (entry.path().extension() != ".safetensors") continue;
    const SafetensorsFile f = SafetensorsFile::open(entry.path());
    ++files;
    for (const TensorInfo& t : f.tensors()) {
      ++tensors;
      EXPECT_EQ(static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype), t.nbytes()) << t.name;
      if (t.dtype == DType::kF32 || t.dtype == DType::kBF16 || t.dtype == DType::kF16) {
        EXPECT_EQ(f.to_f32(t.name).size(), static_cast<std::size_t>(t.numel()));
      } else if (t.dtype == DType::kI64 || t.dtype == DType::kI32) {
        EXPECT_EQ(f.to_i64(t.name).size(), static_cast<std::size_t>(t.numel()));
      }
    }
  }
  EXPECT_GE(files, 10);
  EXPECT_GE(tensors, 100);
}

TEST(SafetensorsGolden, ModelTensorsHaveTheirShapesAndValues) {
  const SafetensorsFile f =
      SafetensorsFile::open(testing::golden_dir() / "model/model.safetensors");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const TensorInfo& embed = f.at("model.embed_tokens.weight");
  EXPECT_EQ(embed.dtype, DType::kF32);
  EXPECT_EQ(embed.shape, (std::vector<std::int64_t>{512, 64}));
  const TensorInfo& patch = f.at("visual.patch_embed.proj.weight");
  EXPECT_EQ(patch.shape, (std::vector<std::int64_t>{32, 3, 2, 14, 14}));
  // The same weights under the other naming scheme are bit-identical.
  const SafetensorsFile alt =
      SafetensorsFile::open(testing::golden_dir() / "model_alt/model.safetensors");
  EXPECT_EQ(f.to_f32("model.layers.1.self_attn.q_proj.weight"),
            alt.to_f32("model.language_model.layers.1.self_attn.q_proj.weight"));
  EXPECT_EQ(f.to_f32("visual.merger.mlp.2.bias"), alt.to_f32("model.visual.merger.mlp.2.bias"));
  EXPECT_EQ(f.tensors().size(), alt.tensors().size());
}

TEST(SafetensorsGolden, ReadsIntegerTensors) {
  const SafetensorsFile f =
      SafetensorsFile::open(testing::golden_dir() / "prompts/one_image.safetensors");
  const std::vector<std::int64_t> grid = f.to_i64("image_grid_thw");
  EXPECT_EQ(grid, (std::vector<std::int64_t>{1, 4, 6}));
  EXPECT_THAT([&] { (void)f.to_f32("image_grid_thw"); }, ::testing::Throws<core::Error>());
  EXPECT_THAT([&] { (void)f.to_i64("pixel_values"); }, ::testing::Throws<core::Error>());
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(HalfPrecision, ConvertsExactly) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC0A0), -5.0f);
}

TEST_F(SafetensorsTest, WriterRoundTripsEveryDtype) {
  const std::vector<float> f32{1.5f, -2.25f, 3.0f, 0.0f, 1e-30f, -7.0f};
  const std::vector<std::uint16_t> bf16{0x3F80, 0xC0A0};
  const std::vector<std::int64_t> i64{-1, 0, 1LL << 40};
  const std::vector<std::int32_t> i32{7, -8};
  const std::vector<std::uint16_t> f16{0x3C00, 0xC000, 0x0001};
  auto as_bytes = [](const auto& v) { return std::as_bytes(std::span(v)); };
  const fs::path path = file("w.safetensors");
  write_safetensors(path,
                    {{"a", DType::kF32, {2, 3}, as_bytes(f32)},
                     {"b", DType::kBF16, {2}, as_bytes(bf16)},
                     {"c", DType::kI64, {3}, as_bytes(i64)},
                     {"d", DType::kI32, {1, 2}, as_bytes(i32)},
                     {"e", DType::kF16, {3}, as_bytes(f16)},
                     {"empty", DType::kF32, {0, 4}, {}}},
                    {{"format", "pt"}});
  const std::string raw = read_bytes(path);
  std::uint64_t header = 0;
  std::memcpy(&header, raw.data(), 8);
  EXPECT_EQ(header % 8, 0u) << "the header is padded to 8 bytes";
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(f.to_f32("a"), f32);
  EXPECT_EQ(f.at("a").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.to_f32("b"), (std::vector<float>{1.0f, -5.0f}));
  EXPECT_EQ(f.to_i64("c"), i64);
  EXPECT_EQ(f.to_i64("d"), (std::vector<std::int64_t>{7, -8}));
  EXPECT_EQ(f.to_f32("e"), (std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)}));
  EXPECT_TRUE(f.to_f32("empty").empty());
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, WriterRefusesMismatchedSizesAndDuplicates) {
  const std::vector<float> v{1, 2, 3};
  const auto bytes = std::as_bytes(std::span(v));
  EXPECT_THAT(
      [&] {
        write_safetensors(file("x"), {{"a", DType::kF32, {2, 2}, bytes}});
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("'a' has 12 bytes for 4 elements")));
  EXPECT_THAT(
      [&] {
        write_safetensors(file("x"),
                          {{"a", DType::kF32, {3}, bytes}, {"a", DType::kF32, {3}, bytes}});
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("duplicate")));
  EXPECT_FALSE(fs::exists(file("x")));
}

TEST_F(SafetensorsTest, TruncatedFileIsRefusedNamingIt) {
  const std::string good = read_bytes(testing::golden_dir() / "lora/adapter_model.safetensors");
  write_bytes(file("truncated.safetensors"), good.substr(0, good.size() - 100));
  const std::string message = open_error(file("truncated.safetensors"));
  EXPECT_THAT(message, HasSubstr("truncated.safetensors"));
  EXPECT_THAT(message, HasSubstr("corrupt or truncated"));

  write_bytes(file("tiny.safetensors"), "abc");
  EXPECT_THAT(open_error(file("tiny.safetensors")),
              HasSubstr("fewer than the 8-byte header length"));

  write_bytes(file("header.safetensors"), good.substr(0, 40));
  EXPECT_THAT(open_error(file("header.safetensors")), HasSubstr("only 32 follow"));
}

TEST_F(SafetensorsTest, CorruptHeadersAreRefused) {
  struct Case {
    std::string header;
    std::size_t data;
    std::string expected;
  };
  const std::vector<Case> cases{
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "overlaps tensor 'a'"},
      {R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8,
       "ends at byte 16 of the data section, which has only 8"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8,
       "has 8 bytes but its dtype and shape need 3 x 4"},
      {R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8, "unsupported dtype 'Q4'"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8,
       "negative or non-integer dimension"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, "lacks one of dtype, shape, data_offsets"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12,
       "bytes 0..4 of the data section belong to no tensor"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8, "the tensors cover 4"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})",
       8, "overflows"},
      {R"({"a": [1, 2)", 8, "not valid JSON"},
      {R"([1, 2])", 0, "not a JSON object"},
      {R"({"__metadata__":{"k":1}})", 0, "is not a string"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fs::path path = file("case" + std::to_string(i) + ".safetensors");
    write_bytes(path, make_file(cases[i].header, cases[i].data));
    const std::string message = open_error(path);
    EXPECT_THAT(message, HasSubstr(cases[i].expected)) << cases[i].header;
    EXPECT_THAT(message, HasSubstr(path.string())) << cases[i].header;
  }
}

TEST_F(SafetensorsTest, HugeHeaderLengthIsRefusedBeforeReading) {
  std::string bytes(16, '\0');
  bytes[6] = 1;  // 2^48 bytes of header
  write_bytes(file("huge.safetensors"), bytes);
  EXPECT_THAT(open_error(file("huge.safetensors")), HasSubstr("exceeds the 100 MB limit"));
}

TEST_F(SafetensorsTest, MissingFileSaysSo) {
  EXPECT_THAT(open_error(file("absent.safetensors")), HasSubstr("cannot open safetensors file"));
}

TEST_F(SafetensorsTest, ShardedCheckpointThroughIndex) {
  const std::vector<float> a{1, 2};
  const std::vector<float> b{3, 4, 5};
  write_safetensors(file("model-00001-of-00002.safetensors"),
                    {{"x.weight", DType::kF32, {2}, std::as_bytes(std::span(a))}});
  write_safetensors(file("model-00002-of-00002.safetensors"),
                    {{"y.weight", DType::kF32, {3}, std::as_bytes(std::span(b))}});
  core::write_json_file(file("model.safetensors.index.json"),
                        core::Json{{"metadata", {{"total_size", 20}}},
                                   {"weight_map",
                                    {{"x.weight", "model-00001-of-00002.safetensors"},
                                     {"y.weight", "model-00002-of-00002.safetensors"}}}});
  const SafetensorsCheckpoint ckpt = SafetensorsCheckpoint::open(dir_.path());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"x.weight", "y.weight"}));
  EXPECT_EQ(ckpt.to_f32("y.weight"), b);
  EXPECT_EQ(ckpt.find("z"), nullptr);
  EXPECT_THAT([&] { (void)ckpt.file_of("z"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("no tensor 'z'")));

  core::write_json_file(
      file("model.safetensors.index.json"),
      core::Json{{"weight_map", {{"x.weight", "model-00002-of-00002.safetensors"}}}});
  EXPECT_THAT([&] { SafetensorsCheckpoint::open(dir_.path()); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("which does not contain it")));
  core::write_json_file(
      file("model.safetensors.index.json"),
      core::Json{{"weight_map", {{"x.weight", "../model-00001-of-00002.safetensors"}}}});
  EXPECT_THAT([&] { SafetensorsCheckpoint::open(dir_.path()); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("not a plain file name")));
}

TEST(SafetensorsCheckpointTest, SingleFileFolder) {
  const SafetensorsCheckpoint ckpt = SafetensorsCheckpoint::open(testing::golden_dir() / "model");
  EXPECT_NE(ckpt.find("lm_head.weight"), nullptr);
  EXPECT_THAT([&] { SafetensorsCheckpoint::open(testing::golden_dir() / "images"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("no model.safetensors")));
}

}  // namespace
}  // namespace mat::engine

// The parts of the synth file stages that need no teacher: the vector index, the image pool's
// captions and its resumable build, the file name and type checks, the file_contents shape check
// and the code block of a file_code reply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/chat_model.h"
#include "mat/synth/file_checks.h"
#include "mat/synth/file_code.h"
#include "mat/synth/file_stages.h"
#include "mat/synth/image_pool.h"
#include "mat/synth/vector_index.h"
#include "support/document_fixtures.h"
#include "synth/word_embedder.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::HasSubstr;
using testing::word_vector;
using testing::WordEmbedder;

std::vector<float> random_unit_vectors(size_t count, size_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> vectors(count * dim);
  for (float& x : vectors) x = normal(rng);
  for (size_t i = 0; i < count; ++i) normalise(std::span<float>(vectors.data() + i * dim, dim));
  return vectors;
}

TEST(VectorIndex, FindsTheNearestVectorExactlyAndSurvivesSaveAndLoad) {
  VectorIndex index(3);
  EXPECT_FALSE(index.nearest(std::vector<float>{1, 0, 0}));  // empty
  index.add({1, 0, 0, 0, 2, 0, 0, 0, 0.5f});  // lengths differ: normalised on the way in
  const auto hit = index.nearest(std::vector<float>{0.1f, 3, 0});
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->id, 1);
  EXPECT_NEAR(hit->similarity, 3 / std::sqrt(9.01), 1e-5);
  EXPECT_TRUE(index.exact());
  EXPECT_THROW(index.nearest(std::vector<float>{1, 0}), core::Error);
  EXPECT_THROW(index.add({1, 2}), core::Error);

  core::TempDir dir("vector-index");
  index.save(dir.path() / "index.faiss");
  const VectorIndex loaded = VectorIndex::load(dir.path() / "index.faiss");
  EXPECT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded.nearest(std::vector<float>{0, 0, -1})->id, 0);  // all others orthogonal-ish
  EXPECT_THROW(VectorIndex::load(dir.path() / "missing.faiss"), core::Error);
}

TEST(VectorIndex, LargeSetsGetAnInvertedFileIndexThatStillFindsNearCopies) {
  const size_t dim = 32;
  const size_t count = 4000;
  const std::vector<float> vectors = random_unit_vectors(count, dim, 7);
  EXPECT_TRUE(VectorIndex::build(vectors, dim).exact());  // small: every vector compared
  const VectorIndex index = VectorIndex::build(vectors, dim, count * dim - 1);
  EXPECT_FALSE(index.exact());
  EXPECT_EQ(index.size(), count);
  // A slightly moved copy of a stored vector finds it.
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0, 0.03f);
  int found = 0;
  for (size_t id = 0; id < count; id += count / 50) {
    std::vector<float> query(vectors.begin() + static_cast<long>(id * dim),
                             vectors.begin() + static_cast<long>((id + 1) * dim));
    for (float& x : query) x += noise(rng);
    const auto hit = index.nearest(query);
    found += hit && hit->id == static_cast<std::int64_t>(id) ? 1 : 0;
  }
  EXPECT_GE(found, 48);  // of 50 or 51
}

class ImagePoolTest : public ::testing::Test {
 protected:
  ImagePoolTest() {
    fs::create_directories(pool() / "photos");
    for (const char* name : {"photos/apple.png", "photos/city.jpg", "chart.png"}) {
      std::ofstream(pool() / name) << "not decoded here";
    }
  }
  fs::path pool() const { return dir_.path() / "pool"; }
  fs::path run() const { return dir_.path() / "run"; }
  fs::path captions(const std::string& text) const {
    std::ofstream(pool() / "captions.jsonl") << text;
    return pool() / "captions.jsonl";
  }

  core::TempDir dir_{"image-pool"};
};

TEST_F(ImagePoolTest, MalformedCaptionLinesAreReportedWithFileAndLine) {
  const std::string good = R"({"image": "chart.png", "caption": "a bar chart"})";
  struct Case {
    std::string line;
    std::string problem;
  };
  for (const Case& c : std::vector<Case>{
           {"{not json", "not a JSON object"},
           {R"({"caption": "no image"})", "\"image\" is missing"},
           {R"({"image": "chart.png", "caption": ""})", "\"caption\" is missing, empty"},
           {R"({"image": "../secret.png", "caption": "x"})", "must not leave the pool folder"},
           {R"({"image": "/etc/passwd.png", "caption": "x"})", "relative to the pool folder"},
           {R"({"image": "notes.txt", "caption": "x"})", "does not have an image file extension"},
           {R"({"image": "missing.png", "caption": "x"})", "image \"missing.png\" is not in"}}) {
    SCOPED_TRACE(c.line);
    const fs::path file = captions(good + "\n\n" + c.line + "\n");
    try {
      read_captions(file, pool());
      ADD_FAILURE() << "accepted";
    } catch (const core::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(file.string() + ":3: "));
      EXPECT_THAT(e.what(), HasSubstr(c.problem));
    }
  }
  EXPECT_THROW(read_captions(pool() / "nothing.jsonl", pool()), core::Error);
  EXPECT_THROW(read_captions(captions("\n\n"), pool()), core::Error);
}

// Fails every call after the first `calls_left`, as an embedding server that goes down.
class FailingEmbedder : public WordEmbedder {
 public:
  explicit FailingEmbedder(int calls_left) : calls_left_(calls_left) {}
  std::vector<llm::Embedding> embed(const std::vector<std::string>& texts) override {
    if (calls_left_-- <= 0) throw llm::ModelError("the embeddings server is down", 503, true);
    return WordEmbedder::embed(texts);
  }

 private:
  int calls_left_;
};

TEST_F(ImagePoolTest, BuildFindsTheNearestCaptionAndResumesAfterAFailure) {
  std::string lines;
  for (int i = 0; i < 150; ++i) {
    const char* image = i % 3 == 0   ? "photos/apple.png"
                        : i % 3 == 1 ? "photos/city.jpg"
                                     : "chart.png";
    lines +=
        Json{{"image", image}, {"caption", "caption number " + std::to_string(i)}}.dump() + "\n";
  }
  lines += R"({"image": "photos/apple.png", "caption": "a red apple on a wooden table"})"
           "\n";
  lines += R"({"image": "photos/city.jpg", "caption": "a city skyline at night"})"
           "\n";
  const fs::path file = captions(lines);

  FailingEmbedder failing(2);  // two batches of 64, then down
  try {
    build_image_pool(run(), pool(), file, failing);
    ADD_FAILURE() << "the failure was not reported";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("embedding captions 129-152 of 152"));
    EXPECT_THAT(e.what(), HasSubstr("the embeddings server is down"));
    EXPECT_THAT(e.what(), HasSubstr("resume from caption 129"));
  }
  EXPECT_FALSE(ImagePool::exists(run()));

  WordEmbedder embedder;
  std::vector<size_t> progress;
  build_image_pool(run(), pool(), file, embedder,
                   [&](size_t done, size_t) { progress.push_back(done); });
  EXPECT_EQ(embedder.texts_embedded, 24u);  // only what the failed build had not done
  EXPECT_EQ(progress, (std::vector<size_t>{128, 152}));
  ASSERT_TRUE(ImagePool::exists(run()));

  const ImagePool loaded = ImagePool::load(run());
  EXPECT_EQ(loaded.size(), 152u);
  EXPECT_EQ(loaded.embedder(), "word-embedder");
  const ImagePool::Match match = loaded.nearest(word_vector("A shiny red apple on a table"));
  EXPECT_EQ(match.caption, "a red apple on a wooden table");
  EXPECT_EQ(match.image, fs::absolute(pool()) / "photos/apple.png");
  EXPECT_GT(match.similarity, 0.6f);
  EXPECT_EQ(loaded.nearest(word_vector("skyline of a city by night")).caption,
            "a city skyline at night");
}

TEST(FileChecks, NamesMustBePlainAndFitTheirType) {
  EXPECT_EQ(file_name_problem("sales 2024.csv", "csv"), std::nullopt);
  EXPECT_EQ(file_name_problem("Photo.JPG", "image"), std::nullopt);
  EXPECT_EQ(file_name_problem("page.htm", "html"), std::nullopt);
  EXPECT_THAT(*file_name_problem("../x.csv", "csv"), HasSubstr("plain file name"));
  EXPECT_THAT(*file_name_problem("dir/x.csv", "csv"), HasSubstr("plain file name"));
  EXPECT_THAT(*file_name_problem(".hidden.csv", "csv"), HasSubstr("must not start with a dot"));
  EXPECT_THAT(*file_name_problem("report.docx", "pdf"), HasSubstr("must end with .pdf"));
  EXPECT_THAT(*file_name_problem("x.exe", "exe"), HasSubstr("not a file type"));
  EXPECT_THAT(*file_name_problem(std::string(101, 'a') + ".txt", "txt"), HasSubstr("longer"));
}

TEST(FileChecks, BytesMustBeOfTheDeclaredType) {
  EXPECT_EQ(file_type_problem(testing::make_pdf({"Hello"}), "a.pdf", "pdf"), std::nullopt);
  EXPECT_THAT(*file_type_problem("hello", "a.pdf", "pdf"), HasSubstr("not a PDF"));
  EXPECT_TRUE(file_type_problem("%PDF-1.4 broken", "a.pdf", "pdf").has_value());
  EXPECT_THAT(*file_type_problem("hello", "a.docx", "docx"), HasSubstr("not a zip archive"));
  EXPECT_THAT(*file_type_problem("", "a.txt", "txt"), HasSubstr("empty"));
  EXPECT_THAT(*file_type_problem(std::string("a\0b", 3), "a.txt", "txt"), HasSubstr("binary"));
  EXPECT_THAT(*file_type_problem("\xff\xfe", "a.md", "md"), HasSubstr("binary"));
  EXPECT_THAT(*file_type_problem("{\"a\": ", "a.json", "json"), HasSubstr("not valid JSON"));
  EXPECT_EQ(file_type_problem("{\"a\": [1, 2]}", "a.json", "json"), std::nullopt);
  EXPECT_EQ(file_type_problem("name,score\nAda,3\n", "a.csv", "csv"), std::nullopt);
  EXPECT_EQ(file_type_problem("print('hi')\n", "a.py", "py"), std::nullopt);
  EXPECT_EQ(file_type_problem("<root><a>1</a></root>", "a.xml", "xml"), std::nullopt);
}

TEST(FileContents, RepliesAreCheckedAgainstTheQuery) {
  const QuerySpec query{"Compare the chart with the table", {}, {"image", "csv"}};
  auto reply = [](Json files) { return Json{{"files", std::move(files)}}; };
  const Json chart = {{"type", "image"}, {"name", "chart.png"}, {"content", "a bar chart"}};
  const Json table = {{"type", "csv"}, {"name", "table.csv"}, {"content", "a,b\n1,2"}};
  EXPECT_EQ(check_file_contents(reply({chart, table}), query), std::nullopt);
  EXPECT_THAT(*check_file_contents(reply({chart}), query), HasSubstr("needs a csv file"));
  EXPECT_THAT(*check_file_contents(reply(Json::array()), query), HasSubstr("non-empty list"));
  EXPECT_THAT(*check_file_contents(Json::array(), query), HasSubstr("JSON object"));
  Json renamed = table;
  renamed["name"] = "../table.csv";
  EXPECT_THAT(*check_file_contents(reply({chart, renamed}), query), HasSubstr("files[1]: "));
  Json twice = table;
  twice["name"] = "Chart.png";
  twice["type"] = "image";
  EXPECT_THAT(*check_file_contents(reply({chart, twice, table}), query), HasSubstr("used twice"));
  Json unknown = table;
  unknown["type"] = "exe";
  EXPECT_THAT(*check_file_contents(reply({chart, table, unknown}), query),
              HasSubstr("not one of the file types"));
  Json empty = table;
  empty["content"] = "";
  EXPECT_THAT(*check_file_contents(reply({chart, empty}), query),
              HasSubstr("files[1].content must be a non-empty string"));
}

TEST(FileCode, TheReplyMustHoldExactlyOnePythonBlock) {
  EXPECT_EQ(*extract_code("Here:\n```py\nprint(1)\n```\nDone.").code, "print(1)\n");
  EXPECT_EQ(*extract_code("```python\nx = 2\n```").code, "x = 2\n");
  EXPECT_THAT(extract_code("print(1)").error, HasSubstr("no ```py code block"));
  EXPECT_THAT(extract_code("```py\nprint(1)\n").error, HasSubstr("never closed"));
  EXPECT_THAT(extract_code("```py\na\n```\n```py\nb\n```").error, HasSubstr("more than one"));
  EXPECT_THAT(extract_code("```py\n\n```").error, HasSubstr("empty"));
}

}  // namespace
}  // namespace mat::synth

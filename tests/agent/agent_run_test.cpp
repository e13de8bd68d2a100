// End-to-end runs of the real loop: the real OpenAI client against a scripted local server, the
// real sandboxed Python worker, the real tool registry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/agent/agent.h"
#include "mat/core/base64.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/tools/builtin_tools.h"
#include "mat/tools/final_answer.h"
#include "mat/tools/search_corpus.h"
#include "support/fake_openai_server.h"

namespace mat::agent {
namespace {

using ::testing::HasSubstr;
using testing::ScriptedReply;

std::string step_reply(const std::string& thought, const std::string& code) {
  return "Thought: " + thought + "\nCode:\n```py\n" + code + "\n```";
}

// A tool with two numeric inputs, to see Python reach the C++ host and come back.
class AddTool : public tools::Tool {
 public:
  const tools::ToolSpec& spec() const override { return spec_; }
  core::Json call(const core::Json& args, const tools::ToolContext&) const override {
    return args["a"].get<double>() + args["b"].get<double>();
  }

 private:
  tools::ToolSpec spec_{"add",
                        "Adds two numbers.",
                        {{"a", tools::ValueType::kNumber, "first", false, nullptr},
                         {"b", tools::ValueType::kNumber, "second", false, nullptr}},
                        tools::ValueType::kNumber,
                        false};
};

class TokenRecorder : public RunObserver {
 public:
  void on_model_token(std::string_view piece) override {
    text += piece;
    ++pieces;
  }
  std::string text;
  int pieces = 0;
};

class AgentRun : public ::testing::Test {
 protected:
  AgentRun() {
    registry_.add(std::make_unique<AddTool>());
    registry_.add(tools::make_final_answer_tool());
  }

  llm::OpenAIConfig config(const std::string& base_url) {
    llm::OpenAIConfig config;
    config.base_url = base_url;
    config.model = "fake-vlm";
    config.max_retries = 2;
    config.initial_backoff = std::chrono::milliseconds(1);
    config.max_backoff = std::chrono::milliseconds(5);
    return config;
  }

  Trajectory run(const std::string& task, std::vector<std::filesystem::path> files = {},
                 RunObserver* observer = nullptr) {
    return run_against(server_.base_url(), task, std::move(files), observer);
  }

  Trajectory run_against(const std::string& base_url, const std::string& task,
                         std::vector<std::filesystem::path> files,
                         RunObserver* observer = nullptr) {
    llm::OpenAIChatModel model(config(base_url));
    Agent agent(model, registry_, PromptTemplate::builtin(), options_);
    return agent.run({.id = "test-run", .text = task, .files = std::move(files)},
                     RunPaths::under(run_dir()), observer);
  }

  std::filesystem::path run_dir() const { return dir_.path() / "run"; }
  std::filesystem::path work_dir() const { return run_dir() / "work"; }

  // The text of message `index` of chat request `request`, image parts left out.
  std::string message_text(size_t request, int index) const {
    const core::Json messages = server_.requests().at(request)["messages"];
    const core::Json& content = messages.at(index < 0 ? messages.size() + index : index)["content"];
    if (content.is_string()) return content.get<std::string>();
    std::string text;
    for (const core::Json& part : content) {
      if (part["type"] == "text") text += part["text"].get<std::string>();
    }
    return text;
  }

  std::vector<std::string> image_urls(size_t request, int index) const {
    const core::Json messages = server_.requests().at(request)["messages"];
    const core::Json& content = messages.at(index < 0 ? messages.size() + index : index)["content"];
    std::vector<std::string> urls;
    if (!content.is_array()) return urls;
    for (const core::Json& part : content) {
      if (part["type"] == "image_url") urls.push_back(part["image_url"]["url"]);
    }
    return urls;
  }

  std::filesystem::path write_png(const std::string& name, int side) const {
    const auto path = dir_.path() / name;
    cv::imwrite(path.string(), cv::Mat(side, side, CV_8UC3, cv::Scalar(255, 0, 0)));
    return path;
  }

  core::TempDir dir_;
  testing::FakeOpenAIServer server_;
  tools::ToolRegistry registry_;
  AgentOptions options_;
};

TEST_F(AgentRun, TwoStepsEndingInFinalAnswer) {
  server_.enqueue(ScriptedReply::text(step_reply("Compute it.", "x = 6 * 7\nprint(x)")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=x)")));
  TokenRecorder tokens;
  const Trajectory t = run("What is six times seven?", {}, &tokens);

  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer);
  EXPECT_EQ(t.final_answer, "42");
  ASSERT_EQ(t.steps.size(), 2u);
  EXPECT_EQ(t.steps[0].thought, "Compute it.");
  EXPECT_EQ(t.steps[0].observation, "42\n");
  EXPECT_EQ(t.steps[0].tokens_in, 11);
  EXPECT_EQ(t.steps[0].tokens_out, 7);
  EXPECT_EQ(t.prompt_version, "t3-v2");
  EXPECT_EQ(t.model.name, "fake-vlm");
  // Streaming delivered the replies piece by piece.
  EXPECT_GT(tokens.pieces, 4);
  EXPECT_EQ(tokens.text, t.steps[0].raw + t.steps[1].raw);

  ASSERT_EQ(server_.request_count(), 2u);
  const core::Json first = server_.requests()[0];
  EXPECT_EQ(first["messages"][0]["role"], "system");
  EXPECT_EQ(message_text(0, 1), "Task: What is six times seven?");
  EXPECT_THAT(first["stop"].dump(), HasSubstr("<end_action>"));
  EXPECT_EQ(message_text(1, -2),
            "Thought: Compute it.\nCode:\n```py\nx = 6 * 7\nprint(x)\n```<end_action>");
  EXPECT_EQ(message_text(1, -1), "[OUTPUT OF STEP 0] Observation:\n42\n");
}

TEST_F(AgentRun, ParseErrorThenRecovery) {
  server_.enqueue(ScriptedReply::text("The answer is obviously 5."));
  server_.enqueue(ScriptedReply::text(step_reply("Use code.", "final_answer(answer=5)")));
  const Trajectory t = run("Give five.");
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer);
  EXPECT_EQ(t.final_answer, "5");
  ASSERT_EQ(t.steps.size(), 2u);
  ASSERT_TRUE(t.steps[0].error);
  EXPECT_THAT(*t.steps[0].error, HasSubstr("no code block"));
  EXPECT_EQ(message_text(1, -2), "The answer is obviously 5.");
  EXPECT_THAT(message_text(1, -1),
              HasSubstr("[OUTPUT OF STEP 0] Error: Your reply has no code block"));
}

TEST_F(AgentRun, ExceptionThenRecovery) {
  server_.enqueue(ScriptedReply::text(step_reply("Divide.", "print('before')\nr = 1 / 0")));
  server_.enqueue(ScriptedReply::text(step_reply("Guard it.", "final_answer(answer='undefined')")));
  const Trajectory t = run("Divide one by zero.");
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer);
  ASSERT_TRUE(t.steps[0].error);
  EXPECT_THAT(*t.steps[0].error, HasSubstr("ZeroDivisionError"));
  EXPECT_THAT(*t.steps[0].error, HasSubstr("r = 1 / 0"));
  EXPECT_THAT(message_text(1, -1), HasSubstr("Error: "));
  EXPECT_THAT(message_text(1, -1), HasSubstr("before"));
}

TEST_F(AgentRun, NoOutputBecomesAPrintHint) {
  server_.enqueue(ScriptedReply::text(step_reply("Assign.", "y = 3")));
  server_.enqueue(ScriptedReply::text(step_reply("Answer.", "final_answer(answer=y)")));
  const Trajectory t = run("Three.");
  EXPECT_THAT(t.steps[0].observation.value_or(""), HasSubstr("print()"));
  EXPECT_EQ(t.final_answer, "3");
}

TEST_F(AgentRun, MaxStepsThenOneBestAnswerRequest) {
  options_.max_steps = 2;
  server_.enqueue(ScriptedReply::text(step_reply("Look.", "print(1)")));
  server_.enqueue(ScriptedReply::text(step_reply("Look more.", "print(2)")));
  server_.enqueue(ScriptedReply::text("Probably 7."));
  const Trajectory t = run("Find the number.");
  EXPECT_EQ(t.end_reason, end_reason::kMaxSteps);
  EXPECT_EQ(t.final_answer, "Probably 7.");
  EXPECT_EQ(t.steps.size(), 2u);
  ASSERT_TRUE(t.best_answer_request);
  EXPECT_EQ(t.best_answer_request->raw, "Probably 7.");
  ASSERT_EQ(server_.request_count(), 3u);
  EXPECT_THAT(message_text(2, -1), HasSubstr("best final answer"));
  EXPECT_THAT(message_text(2, -2), HasSubstr("[OUTPUT OF STEP 1] Observation:\n2"));
}

TEST_F(AgentRun, ConsecutiveErrorsStopTheRun) {
  options_.max_consecutive_errors = 2;
  server_.enqueue(ScriptedReply::text(step_reply("a", "print(1)")));
  server_.enqueue(ScriptedReply::text("no code"));
  server_.enqueue(ScriptedReply::text(step_reply("b", "undefined_name")));
  server_.enqueue(ScriptedReply::text("I give up: 0"));
  const Trajectory t = run("Fail twice.");
  EXPECT_EQ(t.end_reason, end_reason::kMaxErrors);
  EXPECT_EQ(t.steps.size(), 3u);
  EXPECT_THAT(t.steps[2].error.value_or(""), HasSubstr("NameError"));
  EXPECT_EQ(t.final_answer, "I give up: 0");
}

TEST_F(AgentRun, ToolCallFromPythonReachesTheHost) {
  server_.enqueue(ScriptedReply::text(step_reply("Add.", "s = add(a=2, b=3.5)\nprint(s)")));
  server_.enqueue(ScriptedReply::text(step_reply("Bad call.", "add(a='x', b=1)")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=s)")));
  const Trajectory t = run("Add 2 and 3.5.");
  EXPECT_EQ(t.steps[0].observation, "5.5\n");
  EXPECT_THAT(t.steps[1].error.value_or(""), HasSubstr("'a' must be a number, got str"));
  EXPECT_EQ(t.final_answer, "5.5");
}

TEST_F(AgentRun, AttachedImageArrivesAsAnImagePartOnEveryStep) {
  const auto image = write_png("photo.png", 16);
  server_.enqueue(ScriptedReply::text(step_reply("Check.", "import os.path")));
  server_.enqueue(ScriptedReply::text(
      step_reply("Read it.", "from PIL import Image\nprint(Image.open('photo.png').size)")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='red')")));
  const Trajectory t = run("What colour is the photo?", {image});
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer);
  ASSERT_EQ(t.files.size(), 1u);
  EXPECT_EQ(t.files[0].path, "photo.png");
  EXPECT_EQ(t.files[0].type, "image");
  EXPECT_TRUE(std::filesystem::exists(work_dir() / "photo.png"));
  EXPECT_THAT(t.steps[0].error.value_or(""), HasSubstr("not allowed"));
  EXPECT_EQ(t.steps[1].observation, "(16, 16)\n");
  ASSERT_EQ(server_.request_count(), 3u);
  const auto urls = image_urls(0, 1);
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0].rfind("data:image/png;base64,", 0), 0u);
  EXPECT_EQ(image_urls(2, 1), urls);
  EXPECT_THAT(message_text(0, 1), HasSubstr("- photo.png"));
}

TEST_F(AgentRun, PrivateAttachedFilesAreReadableByTheSandboxedCode) {
  const auto notes = dir_.path() / "notes.txt";
  std::ofstream(notes) << "secret 17";
  std::filesystem::permissions(
      notes, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  server_.enqueue(ScriptedReply::text(step_reply("Read.", "print(open('notes.txt').read())")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=17)")));
  const Trajectory t = run("What number is in the notes?", {notes});
  EXPECT_EQ(t.steps[0].observation, "secret 17\n");
  EXPECT_EQ(t.files[0].type, "txt");
  // Regression: the original's mode was widened to 0644; only the copy is readable.
  EXPECT_EQ(std::filesystem::status(notes).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(AgentRun, TheCodeFindsTheAttachedFilesInAList) {
  std::ofstream(dir_.path() / "notes.txt") << "secret 17";
  std::ofstream(dir_.path() / "table.csv") << "a\n1\n";
  server_.enqueue(ScriptedReply::text(
      step_reply("Read.", "print(attached_files, open(attached_files[0]).read())")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=17)")));
  const Trajectory t =
      run("What number is in the notes?", {dir_.path() / "notes.txt", dir_.path() / "table.csv"});
  EXPECT_EQ(t.steps[0].observation, "['notes.txt', 'table.csv'] secret 17\n");
}

TEST_F(AgentRun, TheCodeFindsTheTaskTextInAString) {
  server_.enqueue(ScriptedReply::text(
      step_reply("Parse.", "import re\nprint(type(task).__name__, re.findall(r'\\d+', task))")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=12)")));
  const Trajectory t = run("Add 5 and 7 \"quoted\".", {});
  EXPECT_EQ(t.steps[0].observation, "str ['5', '7']\n");
}

// The real image tools, called from the sandboxed code and answered by the host.
class AgentRunWithImageTools : public AgentRun {
 protected:
  AgentRunWithImageTools() {
    registry_.add(tools::make_face_detection_tool());
    registry_.add(tools::make_ocr_tool());
    registry_.add(tools::make_crop_tool());
    registry_.add(tools::make_segmentation_tool());
  }
};

TEST_F(AgentRunWithImageTools, TheCodeCallsRealToolsAndGetsTheirResults) {
  const std::filesystem::path portrait =
      "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
  server_.enqueue(ScriptedReply::text(
      step_reply("Find the faces.",
                 "faces = facedetection(image_path='grace_hopper.jpg')\nprint(len(faces))")));
  server_.enqueue(ScriptedReply::text(step_reply(
      "Crop the face and write a sign.",
      "face = crop(image_path='grace_hopper.jpg', bbox=faces[0])\n"
      "from PIL import Image, ImageDraw, ImageFont\n"
      "font = ImageFont.truetype('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 40)\n"
      "sign = Image.new('RGB', (600, 100), 'white')\n"
      "ImageDraw.Draw(sign).text((20, 20), 'ADMIRAL HOPPER', font=font, fill='black')\n"
      "sign.save('sign.png')\nprint(face, ocr(image_path='sign.png')['text'])")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=len(faces))")));
  const Trajectory t = run("How many people are in the photo?", {portrait});
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer) << t.error.value_or("");
  ASSERT_EQ(t.steps.size(), 3u);
  EXPECT_EQ(t.steps[0].observation, "1\n");
  EXPECT_THAT(t.steps[1].observation.value_or(""),
              HasSubstr("grace_hopper_crop.png ADMIRAL HOPPER"));
  // The images the tools and the code saved are shown to the model with the observation.
  EXPECT_EQ(t.steps[1].images.size(), 2u);
  EXPECT_EQ(t.final_answer, "1");
}

TEST_F(AgentRun, TheCodeReadsDocumentsAndSearchesTheOfflineCorpus) {
  const std::filesystem::path docs = dir_.path() / "docs";
  std::filesystem::create_directories(docs);
  std::ofstream(docs / "etna.md") << "# Mount Etna\nEtna erupted in February 2021.\n";
  std::ofstream(docs / "bread.txt") << "Bread needs flour, water, yeast and salt.\n";
  const std::filesystem::path db = dir_.path() / "corpus.db";
  tools::build_corpus(docs, db);
  ::setenv("MAT_SEARCH_DB", db.c_str(), 1);
  registry_.add(tools::make_web_search_tool(tools::search_backend_from_env()));
  ::unsetenv("MAT_SEARCH_DB");
  registry_.add(tools::make_inspect_file_tool(nullptr));
  const std::filesystem::path table = dir_.path() / "sales.csv";
  std::ofstream(table) << "month,units\nJan,\"1,200\"\nFeb,950\n";
  server_.enqueue(ScriptedReply::text(
      step_reply("Read and search.",
                 "print(inspect_file_as_text(file_path='sales.csv'))\n"
                 "print(web_search(query='when did etna erupt')[0]['title'])")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer=2150)")));
  const Trajectory t = run("Total units, and when did Etna erupt?", {table});
  ASSERT_GE(t.steps.size(), 1u);
  EXPECT_THAT(t.steps[0].observation.value_or(""), HasSubstr("| Jan | 1,200 |"));
  EXPECT_THAT(t.steps[0].observation.value_or(""), HasSubstr("Mount Etna"));
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer) << t.steps[0].error.value_or("");
}

// The tools that ask a model share the run's endpoint here (as `mat run` lends them the run's
// model): the fake server answers the agent's step, then the tools' own requests, in order.
TEST_F(AgentRun, TheCodeAsksTheModelBackedToolsAndGetsTheirAnswers) {
  auto model = std::make_shared<llm::OpenAIChatModel>(config(server_.base_url()));
  llm::ImagesConfig images;
  images.base_url = server_.base_url();
  images.model = "fake-images";
  auto painter = std::make_shared<llm::OpenAIImagesClient>(images);
  registry_.add(tools::make_visualizer_tool(model));
  registry_.add(tools::make_object_location_tool(model));
  registry_.add(tools::make_image_generator_tool(painter));
  const std::filesystem::path photo = write_png("photo.png", 200);
  server_.enqueue(ScriptedReply::text(
      step_reply("Look, locate, draw.",
                 "print(visualizer(question='What colour is it?', image_path='photo.png'))\n"
                 "print(objectlocation(object='square', image_path='photo.png'))\n"
                 "print(image_generator(prompt='a red square'))")));
  server_.enqueue(ScriptedReply::text("It is blue."));
  server_.enqueue(ScriptedReply::text(R"([{"bbox_2d": [10, 20, 110, 120], "label": "square"}])"));
  std::vector<uchar> png;
  cv::imencode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0, 0, 255)), png);
  ScriptedReply drawn;
  drawn.raw_body =
      core::Json{
          {"data", {{{"b64_json", core::base64_encode(std::string(png.begin(), png.end()))}}}}}
          .dump();
  server_.enqueue(drawn);
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='blue')")));
  const Trajectory t = run("What colour is the square, and where is it?", {photo});
  ASSERT_GE(t.steps.size(), 1u);
  const std::string observation = t.steps[0].observation.value_or("");
  EXPECT_THAT(observation, HasSubstr("It is blue."));
  EXPECT_THAT(observation, HasSubstr("[[10, 20, 110, 120]]"));
  EXPECT_THAT(observation, HasSubstr("generated.png"));
  EXPECT_TRUE(std::filesystem::is_regular_file(work_dir() / "generated.png"));
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer) << t.steps[0].error.value_or("");
  EXPECT_EQ(server_.paths().at(3), "/v1/images/generations");
}

// Regression: the code could delete and replace files that were in the work dir before it ran.
TEST_F(AgentRun, AttachedFilesAreReadOnlyForTheCode) {
  const auto notes = dir_.path() / "notes.txt";
  std::ofstream(notes) << "original";
  server_.enqueue(
      ScriptedReply::text(step_reply("Overwrite.", "open('notes.txt', 'w').write('x')")));
  server_.enqueue(ScriptedReply::text(
      step_reply("Delete.", "import pathlib\npathlib.Path('notes.txt').unlink()")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='x')")));
  const Trajectory t = run("Anything.", {notes});
  ASSERT_EQ(t.steps.size(), 3u);
  EXPECT_THAT(t.steps[0].error.value_or(""), HasSubstr("Read-only file system"));
  EXPECT_THAT(t.steps[1].error.value_or(""), HasSubstr("Device or resource busy"));
  EXPECT_EQ(core::read_file(work_dir() / "notes.txt"), "original");
}

TEST_F(AgentRun, TheWorkDirIsHandedBackAsItWas) {
  server_.enqueue(ScriptedReply::text(step_reply(
      "Open up.",
      "import pathlib\npathlib.Path('.').chmod(0o777)\nopen('made.txt', 'w').write('x')")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='x')")));
  std::filesystem::create_directories(work_dir());
  struct stat before {};
  ASSERT_EQ(::stat(work_dir().c_str(), &before), 0);
  run("Anything.");
  for (const auto& path : {work_dir(), work_dir() / "made.txt"}) {
    struct stat after {};
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_EQ(after.st_uid, before.st_uid) << path;
  }
  struct stat after {};
  ASSERT_EQ(::stat(work_dir().c_str(), &after), 0);
  EXPECT_EQ(after.st_mode, before.st_mode);
}

// Regression: integers past 64 bits reached the host as rounded floats.
TEST_F(AgentRun, BigIntegersInTheFinalAnswerKeepEveryDigit) {
  server_.enqueue(ScriptedReply::text(step_reply("Big.", "final_answer(answer=2**100 + 1)")));
  const Trajectory t = run("What is 2^100 + 1?");
  EXPECT_EQ(t.final_answer, "1267650600228229401496703205377");
}

// Regression: a link planted by the code was followed and a host file sent as an image.
TEST_F(AgentRun, PlantedLinksAreListedNotFollowed) {
  server_.enqueue(ScriptedReply::text(
      step_reply("Link.", "import pathlib\npathlib.Path('leak.png').symlink_to('/etc/hostname')")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='x')")));
  const Trajectory t = run("Anything.");
  ASSERT_FALSE(t.steps.empty());
  EXPECT_TRUE(t.steps[0].images.empty());
  EXPECT_THAT(t.steps[0].observation.value_or(""), HasSubstr("leak.png (symbolic link)"));
  EXPECT_TRUE(image_urls(1, -1).empty());
}

// Regression: a small file claiming a huge size was decoded (gigabytes, minutes).
TEST_F(AgentRun, ImagesOverThePixelBudgetAreRefusedBeforeDecoding) {
  server_.enqueue(ScriptedReply::text(step_reply(
      "Huge.",
      "from PIL import Image\nImage.new('RGB', (4, 4)).save('s.png')\n"
      "d = bytearray(open('s.png', 'rb').read())\n"
      "d[16:24] = (20000).to_bytes(4, 'big') * 2\nopen('huge.png', 'wb').write(bytes(d))")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='x')")));
  const Trajectory t = run("Anything.");
  ASSERT_FALSE(t.steps.empty());
  EXPECT_THAT(t.steps[0].observation.value_or(""),
              HasSubstr("huge.png cannot be shown: 'huge.png' is 20000 x 20000 pixels"));
  EXPECT_EQ(t.steps[0].images.size(), 1u);  // s.png, the honest one
}

TEST_F(AgentRun, AReplyCutByTheLengthLimitIsNotRunAndSaysSo) {
  ScriptedReply cut = ScriptedReply::text("Thought: I will\nCode:\n```py\nprint(1");
  cut.finish_reason = "length";
  server_.enqueue(cut);
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='x')")));
  const Trajectory t = run("Anything.");
  ASSERT_EQ(t.steps.size(), 2u);
  EXPECT_EQ(t.steps[0].finish_reason, "length");
  EXPECT_THAT(t.steps[0].error.value_or(""), HasSubstr("cut off at the length limit"));
  EXPECT_THAT(message_text(1, -1), HasSubstr("cut off"));
}

// Regression: a reply that failed part-way vanished from the record.
TEST_F(AgentRun, AReplyThatBreaksMidStreamIsKeptWithItsPartialText) {
  ScriptedReply broken = ScriptedReply::text("Thought: a long and careful plan");
  broken.cut_stream = true;
  server_.enqueue(broken);
  const Trajectory t = run("Anything.");
  EXPECT_EQ(t.end_reason, end_reason::kModelError);
  ASSERT_EQ(t.steps.size(), 1u);
  EXPECT_FALSE(t.steps[0].raw.empty());
  EXPECT_EQ(t.steps[0].finish_reason, "error");
  EXPECT_THAT(t.steps[0].error.value_or(""), HasSubstr("failed part-way"));
}

TEST_F(AgentRun, SavedImagesAreShownWithTheObservation) {
  server_.enqueue(ScriptedReply::text(step_reply(
      "Draw.", "from PIL import Image\nImage.new('RGB', (8, 8), 'blue').save('chart.png')")));
  server_.enqueue(ScriptedReply::text(step_reply("Done.", "final_answer(answer='drawn')")));
  const Trajectory t = run("Draw a square.");
  ASSERT_EQ(t.steps[0].images.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(run_dir() / t.steps[0].images[0]));
  EXPECT_THAT(*t.steps[0].observation, HasSubstr("chart.png"));
  EXPECT_EQ(image_urls(1, -1).size(), 1u);
}

TEST_F(AgentRun, RateLimitThenSuccess) {
  server_.enqueue(ScriptedReply::error(429, "slow down", {{"Retry-After", "0"}}));
  server_.enqueue(ScriptedReply::text(step_reply("Go.", "final_answer(answer=1)")));
  const Trajectory t = run("One.");
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(AgentRun, ServerDownEndsWithAClearModelError) {
  // A port nobody listens on: take one from a server and shut it down.
  std::string dead_url;
  {
    testing::FakeOpenAIServer gone;
    dead_url = gone.base_url();
  }
  const Trajectory t = run_against(dead_url, "Anything.", {});
  EXPECT_EQ(t.end_reason, end_reason::kModelError);
  EXPECT_TRUE(t.steps.empty());
  ASSERT_TRUE(t.error);
  EXPECT_THAT(*t.error, HasSubstr(dead_url));
  EXPECT_FALSE(t.final_answer);
}

TEST_F(AgentRun, MissingFileFailsBeforeAnyModelCall) {
  const Trajectory t = run("Read it.", {dir_.path() / "missing.pdf"});
  EXPECT_EQ(t.end_reason, end_reason::kInputError);
  EXPECT_THAT(t.error.value_or(""), HasSubstr("missing.pdf"));
  EXPECT_THAT(t.error.value_or(""), HasSubstr("does not exist"));
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(AgentRun, UnreadableImageFailsBeforeAnyModelCall) {
  std::ofstream(dir_.path() / "broken.jpg") << "\xff\xd8\xff garbage, not a jpeg";
  const Trajectory t = run("Look.", {dir_.path() / "broken.jpg"});
  EXPECT_EQ(t.end_reason, end_reason::kInputError);
  EXPECT_THAT(t.error.value_or(""), HasSubstr("broken.jpg"));
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(AgentRunWithImageTools, TheCodeSegmentsAnImageAndReadsTheMask) {
  cv::Mat scene(240, 320, CV_8UC3, cv::Scalar(90, 160, 90));
  cv::circle(scene, {160, 120}, 50, cv::Scalar(40, 40, 220), cv::FILLED);
  const auto image = dir_.path() / "scene.png";
  cv::imwrite(image.string(), scene);
  server_.enqueue(ScriptedReply::text(
      step_reply("Segment the disk and measure it.",
                 "result = segmentation(image_path='scene.png', boxes=[[100, 60, 220, 180]])\n"
                 "import numpy as np\nfrom PIL import Image\n"
                 "mask = np.array(Image.open(result['masks'][0]))\n"
                 "print(result['masks'], result['overlay'], mask.shape,\n"
                 "      result['areas'][0] == int((mask == 255).sum()),\n"
                 "      round(result['areas'][0] / (3.14159 * 50 * 50), 1))")));
  server_.enqueue(
      ScriptedReply::text(step_reply("Done.", "final_answer(answer=result['areas'][0])")));
  const Trajectory t = run("How many pixels does the disk cover?", {image});
  EXPECT_EQ(t.end_reason, end_reason::kFinalAnswer) << t.error.value_or("");
  ASSERT_GE(t.steps.size(), 1u);
  EXPECT_THAT(t.steps[0].observation.value_or(t.steps[0].error.value_or("")),
              HasSubstr("['scene_mask.png'] scene_segmentation.png (240, 320) True 1.0\n"));
  EXPECT_EQ(t.steps[0].images.size(), 2u);  // the mask and the overlay, shown to the model
}

}  // namespace
}  // namespace mat::agent

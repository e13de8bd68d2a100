// The synth file stages against the fake teacher (answering by the X-Mat-Stage header) and a
// small image pool the test makes: file_contents, file_code run in the sandbox, images from the
// pool by caption, the files seen by verify_files and the trajectory; every way a file-making
// script can go wrong, contained and reported; near-duplicate queries dropped by embedding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "mat/agent/agent.h"
#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/llm/openai_client.h"
#include "mat/llm/openai_embedder.h"
#include "mat/synth/export.h"
#include "mat/synth/file_stages.h"
#include "mat/synth/image_pool.h"
#include "mat/synth/merge.h"
#include "mat/synth/pipeline.h"
#include "mat/synth/query_dedupe.h"
#include "mat/synth/replay.h"
#include "mat/tools/final_answer.h"
#include "mat/tools/registry.h"
#include "mat/train/samples.h"
#include "support/fake_openai_server.h"
#include "synth/word_embedder.h"

namespace mat::synth {
namespace {

namespace fs = std::filesystem;
using core::Json;
using ::testing::HasSubstr;
using testing::ScriptedReply;

Json query(const std::string& text, const std::vector<std::string>& files) {
  return {{"query", text}, {"tools", {"final_answer"}}, {"files", files}};
}

Json file(const std::string& type, const std::string& name, const std::string& content) {
  return {{"type", type}, {"name", name}, {"content", content}};
}

std::string code_reply(const std::string& code) {
  return "Here is the script.\n```py\n" + code + "\n```";
}

// The user text of a chat request.
std::string prompt_of(const Json& body) {
  const Json& content = body["messages"][0]["content"];
  return content.is_string() ? content.get<std::string>() : content.dump();
}

class SynthFiles : public ::testing::Test {
 protected:
  SynthFiles() {
    registry_.add(tools::make_final_answer_tool());
    server_.set_responder([this](const std::string& path, const Json& body,
                                 const std::string& stage) { return answer(path, body, stage); });
  }

  fs::path run_dir() const { return dir_.path() / run_name_; }
  fs::path pool() const { return dir_.path() / "pool"; }

  llm::OpenAIConfig endpoint(const std::string& model) const {
    llm::OpenAIConfig config;
    config.base_url = server_.base_url();
    config.model = model;
    config.api_key = "test";
    config.max_retries = 0;
    return config;
  }

  RunConfig config(int queries) const {
    RunConfig config;
    config.teacher_model = "fake-teacher";
    config.teacher_base_url = server_.base_url();
    config.queries_per_batch = queries;
    config.max_parse_attempts = 2;
    config.file_code_timeout_s = 2;
    return config;
  }

  // Three images of different colours, and their captions.
  void make_pool() {
    fs::create_directories(pool());
    const std::map<std::string, cv::Scalar> images{
        {"apple.png", {0, 0, 255}}, {"city.png", {255, 0, 0}}, {"chart.png", {0, 255, 0}}};
    for (const auto& [name, colour] : images) {
      cv::imwrite((pool() / name).string(), cv::Mat(8, 8, CV_8UC3, colour));
    }
    std::ofstream(pool() / "captions.jsonl")
        << R"({"image": "apple.png", "caption": "a red apple on a wooden table"})"
           "\n"
        << R"({"image": "city.png", "caption": "a city skyline at night"})"
           "\n"
        << R"({"image": "chart.png", "caption": "a bar chart of monthly sales"})"
           "\n";
  }

  RunSummary run(const RunConfig& base, std::int64_t tasks,
                 std::shared_ptr<llm::Embedder> embedder = nullptr,
                 std::optional<std::string> only_stage = std::nullopt, int workers = 1) {
    if (!fs::exists(run_dir() / kConfigFile)) init_run(run_dir(), base, embedder.get());
    const RunConfig loaded = load_run_config(run_dir());
    PipelineDeps deps;
    deps.models = [&](const std::string& stage) {
      return replay_from_ != nullptr ? replay_model(*replay_from_, stage, loaded.teacher_model)
                                     : make_stage_model(endpoint(loaded.teacher_model), stage);
    };
    deps.run_agent = [&](llm::ChatModel& model, const agent::Task& task,
                         const agent::RunPaths& paths) {
      agent::Agent agent(model, registry_, agent::PromptTemplate::builtin(), {});
      return agent.run(task, paths);
    };
    deps.tools = registry_.names();
    deps.embedder = std::move(embedder);
    Store store(run_dir());
    RunOptions options;
    options.tasks = tasks;
    options.only_stage = std::move(only_stage);
    options.concurrency = workers;
    options.shard = shard_;
    return run_pipeline(run_dir(), loaded, store, deps, options);
  }

  // The fake teacher: replies chosen by stage, and for the file stages by what the prompt names.
  ScriptedReply answer(const std::string& path, const Json& body, const std::string& stage) {
    if (path == "/v1/embeddings") {
      ScriptedReply reply;
      reply.raw_body = testing::word_embeddings_body(body);
      return reply;
    }
    const std::string prompt = prompt_of(body);
    std::lock_guard lock(mutex_);
    if (stage == "queries" && !batches_by_number_.empty()) {
      // By the batch (the request's seed is the run's seed plus the batch number); the first
      // batch answers last, so that with several workers the later batches finish first.
      const std::int64_t batch = body.value("seed", std::int64_t{0});
      ScriptedReply reply = ScriptedReply::text(Json{
          {"queries", batches_by_number_.count(batch) != 0
                          ? batches_by_number_[batch]
                          : Json::array()}}.dump());
      if (batch == 1) reply.delay = std::chrono::milliseconds(300);
      return reply;
    }
    if (stage == "queries" && batches_asked_ < batches_.size()) {
      return ScriptedReply::text(Json{{"queries", batches_[batches_asked_++]}}.dump());
    }
    if (stage == "file_contents" || stage == "file_code") {
      for (const auto& [marker, reply] : stage == "file_contents" ? file_contents_ : scripts_) {
        if (prompt.find(marker) != std::string::npos) return ScriptedReply::text(reply);
      }
    }
    if (stage == "trajectory") {
      return ScriptedReply::text("Thought: done.\nCode:\n```py\nfinal_answer(\"ok\")\n```");
    }
    if (stage == "verify_files" || stage == "verify_trajectory") {
      return ScriptedReply::text(R"({"verdict": "yes", "reason": "fine"})");
    }
    return ScriptedReply::error(400, "the test has no reply for stage " + stage);
  }

  StageResult result(std::int64_t task, const std::string& stage) {
    Store store(run_dir());
    const std::optional<StageResult> found = store.result(task, stage);
    if (!found) throw core::Error("no " + stage + " result for task " + std::to_string(task));
    return *found;
  }

  std::mutex mutex_;
  std::vector<Json> batches_;  // the queries replies, in order
  size_t batches_asked_ = 0;
  std::map<std::int64_t, Json> batches_by_number_;  // the queries replies by batch, when set
  std::string run_name_ = "run";                    // the run folder, in dir_
  std::optional<Shard> shard_;                      // the run's, when sharded
  Store* replay_from_ = nullptr;                    // the recorded run the teacher replays
  std::vector<std::pair<std::string, std::string>> file_contents_;  // query marker -> reply
  std::vector<std::pair<std::string, std::string>> scripts_;        // file name -> reply

  core::TempDir dir_{"synth-files", "/var/tmp"};  // not /tmp: the sandbox has its own
  testing::FakeOpenAIServer server_;
  tools::ToolRegistry registry_;
};

constexpr const char* kDocxScript = R"(import zipfile
parts = {
    '[Content_Types].xml': '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    '_rels/.rels': '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    'word/document.xml': '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Use fast mode.</w:t></w:r></w:p></w:body></w:document>',
}
with zipfile.ZipFile('notes.docx', 'w') as archive:
    for name, text in parts.items():
        archive.writestr(name, text))";

TEST_F(SynthFiles, TasksGetTheirFilesMadeInTheSandboxAndImagesFromThePool) {
  make_pool();
  batches_ = {
      Json::array({query("What fruit is in the photo, and what does it cost?", {"image", "csv"}),
                   query("Which mode do the settings and the notes ask for?", {"json", "docx"}),
                   query("What is six times seven?", {})})};
  file_contents_ = {{"fruit", Json{{"files",
                                    {file("image", "fruit.png", "a shiny red apple on a table"),
                                     file("csv", "prices.csv", "fruit,price / apple,2")}}}
                                  .dump()},
                    {"mode", Json{{"files",
                                   {file("json", "settings.json", "{\"mode\": \"fast\"}"),
                                    file("docx", "notes.docx", "Use fast mode.")}}}
                                 .dump()}};
  scripts_ = {
      {"prices.csv", code_reply("open('prices.csv', 'w').write('fruit,price\\napple,2\\n')")},
      {"settings.json",
       code_reply("import json\njson.dump({'mode': 'fast'}, open('settings.json', 'w'))")},
      {"notes.docx", code_reply(kDocxScript)}};
  const auto embedder = std::make_shared<llm::OpenAIEmbedder>(endpoint("word-embedder"));
  RunConfig base = config(3);
  base.images = pool().string();
  const RunSummary summary = run(base, 3, embedder);
  EXPECT_EQ(summary.deferred, 0) << summary.last_deferral;

  // Task 1: the csv made by its script, the image the pool's apple.
  EXPECT_EQ(result(1, "file_contents").status, "done") << result(1, "file_contents").error;
  EXPECT_EQ(result(1, "file_code").status, "done") << result(1, "file_code").error;
  const StageResult images = result(1, "images");
  ASSERT_EQ(images.status, "done") << images.error;
  EXPECT_EQ(images.output["images"][0]["caption"], "a red apple on a wooden table");
  const fs::path files = task_files_dir(run_dir(), 1);
  EXPECT_EQ(core::read_file(files / "prices.csv"), "fruit,price\napple,2\n");
  EXPECT_EQ(core::read_file(files / "fruit.png"), core::read_file(pool() / "apple.png"));
  // Task 2: a json and a real docx, no image step.
  EXPECT_EQ(result(2, "file_code").status, "done") << result(2, "file_code").error;
  EXPECT_EQ(core::read_file(task_files_dir(run_dir(), 2) / "settings.json"),
            "{\"mode\": \"fast\"}");
  EXPECT_TRUE(fs::exists(task_files_dir(run_dir(), 2) / "notes.docx"));
  EXPECT_THROW(result(2, "images"), core::Error);
  // Task 3 needs no files: the file stages record nothing for it.
  EXPECT_THROW(result(3, "file_contents"), core::Error);
  EXPECT_EQ(result(3, "verify_trajectory").status, "accepted");

  // The verifier and the agent saw the files that were made.
  std::vector<std::string> verify_prompts;
  const std::vector<Json> requests = server_.requests();
  const std::vector<std::string> stages = server_.header_values("X-Mat-Stage");
  for (size_t i = 0; i < requests.size(); ++i) {
    if (stages[i] == "verify_files") verify_prompts.push_back(prompt_of(requests[i]));
  }
  ASSERT_EQ(verify_prompts.size(), 3u);
  EXPECT_THAT(verify_prompts[0], HasSubstr("fruit.png (image)"));
  EXPECT_THAT(verify_prompts[0], HasSubstr("prices.csv (csv)"));
  EXPECT_THAT(verify_prompts[1], HasSubstr("notes.docx (docx)"));
  // ... and their contents: the image as an image, the documents as the inspector reads them.
  EXPECT_THAT(verify_prompts[0], HasSubstr("image_url"));
  EXPECT_THAT(verify_prompts[1], HasSubstr("Use fast mode."));
  const agent::Trajectory record = agent::Trajectory::from_json(result(1, "trajectory").output);
  ASSERT_EQ(record.files.size(), 2u);
  EXPECT_EQ(record.files[0].path, "fruit.png");
  EXPECT_EQ(record.files[1].path, "prices.csv");
  // Every teacher request named its stage; the file stages came before verify_files.
  const auto first = [&](const std::string& name) {
    return std::find(stages.begin(), stages.end(), name) - stages.begin();
  };
  EXPECT_LT(first("file_contents"), first("file_code"));
  EXPECT_LT(first("file_code"), first("verify_files"));
  // The embeddings requests: the pool's captions, the batch's queries, the image description.
  EXPECT_EQ(std::count(stages.begin(), stages.end(), ""), 3);

  // The mat export carries the task's attached image: `mat export-dataset` reads it whole.
  const fs::path out = dir_.path() / "export";
  Store store(run_dir());
  ASSERT_EQ(export_run(run_dir(), store, "mat", out).exported, 3);
  EXPECT_EQ(core::read_file(out / "tasks" / "t000001" / "shown" / "task" / "fruit.png"),
            core::read_file(pool() / "apple.png"));
  std::int64_t conversations = 0;
  const train::DataReport report = train::for_each_conversation(
      out, {}, nullptr, [&](const train::Conversation&, train::Sample*) { ++conversations; });
  EXPECT_EQ(conversations, 3);
  EXPECT_EQ(report.records, 3);
}

TEST_F(SynthFiles, EveryWayAFileScriptGoesWrongIsContainedAndReported) {
  const fs::path secret = dir_.path() / "secret.txt";
  std::ofstream(secret) << "the host's secret";
  struct Case {
    std::string name;
    std::string code;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"escape.txt", "open('../../escape.txt', 'w').write('out')", "Read-only file system"},
      {"steal.txt", "open('steal.txt', 'w').write(open('" + secret.string() + "').read())",
       "No such file or directory"},
      {"network.txt",
       "import urllib.request\nurllib.request.urlopen('" + server_.base_url() + "/models')",
       "import of 'urllib' is not allowed"},
      {"socket.txt", "import socket\nsocket.create_connection(('127.0.0.1', 80))",
       "import of 'socket' is not allowed"},
      {"hang.txt", "while True:\n    pass", "ran past the limit of 2 s"},
      {"wrong.pdf", "open('wrong.pdf', 'w').write('just text')",
       "wrong.pdf is not a valid pdf file"},
      {"link.txt", "import pathlib\npathlib.Path('link.txt').symlink_to('/etc/passwd')",
       "did not leave a regular file named link.txt"},
      {"none.txt", "print('forgot to write it')", "did not leave a regular file named none.txt"}};
  Json queries = Json::array();
  for (const Case& c : cases) {
    const std::string type = c.name.substr(c.name.find('.') + 1);
    queries.push_back(query("Read the file " + c.name + " and sum it.", {type}));
    file_contents_.emplace_back("file " + c.name,
                                Json{{"files", {file(type, c.name, "numbers")}}}.dump());
    scripts_.emplace_back(c.name, code_reply(c.code));
  }
  batches_ = {queries};
  run(config(static_cast<int>(cases.size())), static_cast<std::int64_t>(cases.size()));
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    const StageResult made = result(static_cast<std::int64_t>(i) + 1, "file_code");
    EXPECT_EQ(made.status, "failed");
    EXPECT_THAT(made.error, HasSubstr(cases[i].reason));
    EXPECT_FALSE(
        fs::exists(task_files_dir(run_dir(), static_cast<std::int64_t>(i) + 1) / cases[i].name));
  }
  EXPECT_FALSE(fs::exists(run_dir() / "tasks" / "escape.txt"));
  EXPECT_FALSE(fs::exists(run_dir() / "escape.txt"));
  for (const std::string& stage : server_.header_values("X-Mat-Stage")) {
    EXPECT_NE(stage, "verify_files");  // a task without its files goes no further
  }
}

TEST_F(SynthFiles, ImageTasksFailClearlyWithoutAPool) {
  batches_ = {Json::array({query("What is in the photo?", {"image"})})};
  run(config(1), 1);
  const StageResult contents = result(1, "file_contents");
  EXPECT_EQ(contents.status, "failed");
  EXPECT_THAT(contents.error, HasSubstr("no image pool"));
  EXPECT_EQ(server_.request_count(), 1u);  // the queries batch only: no teacher call wasted
  EXPECT_THROW(init_run(
                   dir_.path() / "other",
                   [&] {
                     RunConfig with_pool = config(1);
                     with_pool.images = pool().string();
                     return with_pool;
                   }(),
                   nullptr),
               core::Error);  // a pool needs an embedder
}

TEST_F(SynthFiles, NearDuplicateQueriesAreDroppedByEmbedding) {
  batches_ = {
      Json::array({query("What is the weather in Paris today?", {}),
                   query("what's the weather in Paris today", {}), query("Name a colour.", {})}),
      Json::array({query("What is the weather in Paris today, please?", {}),
                   query("Which planet is the largest?", {}), query("name a COLOUR", {})}),
      Json::array({query("what is the weather in Paris, today", {}),
                   query("How tall is Mount Everest?", {}), query("Who wrote Hamlet?", {})})};
  RunConfig base = config(3);
  base.dedupe_similarity = 0.8;
  auto embedder = std::make_shared<testing::WordEmbedder>();
  run(base, 3, embedder, "queries");
  {
    Store store(run_dir());
    std::vector<std::string> kept;
    for (const TaskRow& row : store.tasks(10)) kept.push_back(row.spec.query);
    EXPECT_THAT(kept, ::testing::ElementsAre("What is the weather in Paris today?",
                                             "Name a colour.", "Which planet is the largest?"));
    EXPECT_EQ(store.counts().near_duplicates, 2);  // "name a COLOUR" is an exact repeat
  }

  // A later run remembers the stored queries without embedding them again.
  const size_t embedded = embedder->texts_embedded;
  run(base, 5, embedder, "queries");
  EXPECT_EQ(embedder->texts_embedded, embedded + 2);  // batch 3's texts not seen before
  Store store(run_dir());
  EXPECT_EQ(store.counts().near_duplicates, 2);
  EXPECT_EQ(store.task_count(), 5);
}

// The kept tasks and the marks, as (id, query) and (id, similar_to) lines.
std::vector<std::string> dedupe_outcome(const fs::path& run_dir) {
  Store store(run_dir);
  std::vector<std::string> lines;
  for (const TaskRow& row : store.tasks(100)) {
    lines.push_back(std::to_string(row.id) + " " + row.spec.query);
  }
  lines.push_back("near-duplicates: " + std::to_string(store.counts().near_duplicates));
  return lines;
}

TEST_F(SynthFiles, NearDuplicatesAreMarkedTheSameWhateverOrderBatchesFinishIn) {
  // Batch 1 answers last: a near-duplicate in a later batch must still lose to it.
  batches_by_number_ = {{1, Json::array({query("What is the weather in Paris today?", {}),
                                         query("Name a colour of the rainbow.", {}),
                                         query("what is the weather in Paris today please", {})})},
                        {2, Json::array({query("What is the weather in Paris today, friend?", {}),
                                         query("Name one colour of the rainbow.", {}),
                                         query("Which planet is the largest?", {})})},
                        {3, Json::array({query("How tall is Mount Everest?", {}),
                                         query("Which planet is the largest one?", {}),
                                         query("Who wrote Hamlet?", {})})},
                        {4, Json::array({query("How deep is the Pacific Ocean?", {}),
                                         query("Who painted the Mona Lisa?", {}),
                                         query("How tall is Mount Everest exactly?", {})})}};
  RunConfig base = config(3);
  base.dedupe_similarity = 0.8;
  run(base, 4, std::make_shared<testing::WordEmbedder>(), "queries", 1);
  const std::vector<std::string> one_worker = dedupe_outcome(run_dir());
  EXPECT_THAT(one_worker, ::testing::ElementsAre("1 What is the weather in Paris today?",
                                                 "2 Name a colour of the rainbow.",
                                                 "6 Which planet is the largest?",
                                                 "7 How tall is Mount Everest?",
                                                 "9 Who wrote Hamlet?", "near-duplicates: 4"));
  fs::rename(run_dir(), dir_.path() / "one-worker");
  run(base, 4, std::make_shared<testing::WordEmbedder>(), "queries", 4);
  EXPECT_EQ(dedupe_outcome(run_dir()), one_worker);
}

TEST_F(SynthFiles, MergeKeepsTheImagePoolAndTheShardsNearDuplicates) {
  make_pool();
  batches_by_number_ = {{1, Json::array({query("What is the weather in Paris today?", {}),
                                         query("Name a colour of the rainbow.", {}),
                                         query("what is the weather in Paris today please", {})})},
                        {2, Json::array({query("Which planet is the largest?", {}),
                                         query("Which planet is the largest one?", {}),
                                         query("Who wrote Hamlet?", {})})}};
  RunConfig base = config(3);
  base.dedupe_similarity = 0.8;
  base.images = pool().string();
  for (const int index : {0, 1}) {
    run_name_ = "shard" + std::to_string(index + 1);
    shard_ = Shard{index, 2};
    run(base, 6, std::make_shared<testing::WordEmbedder>(), "queries");
  }
  const fs::path one = dir_.path() / "shard1", two = dir_.path() / "shard2";
  const fs::path merged = dir_.path() / "merged";
  merge_runs(merged, {one, two});
  EXPECT_TRUE(ImagePool::exists(merged));
  EXPECT_EQ(ImagePool::load(merged).size(), 3u);
  Store store(merged);
  EXPECT_EQ(store.counts().near_duplicates, 2);  // one of each shard
  EXPECT_EQ(store.task_count(), 4);
  // The shards' query embeddings came along: screening the merged run embeds nothing.
  testing::WordEmbedder counting;
  QueryDedupe(merged, counting, 0.8, store).screen(store.tasks(10));
  EXPECT_EQ(counting.texts_embedded, 0u);

  // A shard whose pool differs (its folder changed between the inits) is refused.
  const fs::path changed = dir_.path() / "changed";
  fs::copy(two, changed, fs::copy_options::recursive);
  std::ofstream(changed / kImagePoolDir / "entries.jsonl", std::ios::app) << "{}\n";
  try {
    merge_runs(dir_.path() / "merged2", {one, changed});
    ADD_FAILURE() << "a differing image pool was merged";
  } catch (const core::Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("image pool"));
  }
  EXPECT_EQ(Store(dir_.path() / "merged2").task_count(), 0);  // refused before any store merged
}

TEST_F(SynthFiles, AReplayRunAsksNoServerNotEvenTheEmbedder) {
  batches_by_number_ = {{1, Json::array({query("What is the weather in Paris today?", {}),
                                         query("what is the weather in Paris today please", {}),
                                         query("Who wrote Hamlet?", {})})}};
  RunConfig base = config(3);
  base.dedupe_similarity = 0.8;
  init_run(run_dir(), base);
  Store recorded(run_dir());
  const auto embedder = std::make_shared<llm::OpenAIEmbedder>(endpoint("word-embedder"));
  run(base, 2, recording_embedder(embedder, recorded), "queries");
  const std::vector<std::string> original = dedupe_outcome(run_dir());
  EXPECT_THAT(original, ::testing::Contains("near-duplicates: 1"));

  const size_t requests = server_.request_count();
  run_name_ = "again";
  replay_from_ = &recorded;
  run(base, 2, replay_embedder(recorded, "word-embedder"), "queries");
  EXPECT_EQ(server_.request_count(), requests);  // neither the teacher nor the embedder
  EXPECT_EQ(dedupe_outcome(run_dir()), original);
  EXPECT_THROW(replay_embedder(recorded, "word-embedder")->embed({"never embedded"}),
               llm::ModelError);
}

}  // namespace
}  // namespace mat::synth

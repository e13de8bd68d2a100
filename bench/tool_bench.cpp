// The tools as the agent's code meets them: the inspector on a 100-page PDF, and what the bridge
// from the sandbox's Python to the C++ host adds to each call of a real tool, measured in the
// same run as the direct call it is compared with.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "mat/core/temp_dir.h"
#include "mat/sandbox/sandbox.h"
#include "mat/tools/registry.h"
#include "mat/tools/search_corpus.h"
#include "support/document_fixtures.h"

namespace {

namespace fs = std::filesystem;
using mat::core::Json;

constexpr int kCallsPerStep = 50;

// A page of ordinary prose: about 2,500 characters over 40 lines.
std::string page_text(int page) {
  std::string text;
  for (int line = 0; line < 40; ++line) {
    text += "Page " + std::to_string(page) + ", line " + std::to_string(line) +
            ": the committee reviewed the quarterly figures and the budget for next year.\n";
  }
  return text;
}

void BM_InspectPdf100Pages(benchmark::State& state) {
  const mat::core::TempDir dir;
  std::vector<std::string> pages;
  for (int i = 1; i <= 100; ++i) pages.push_back(page_text(i));
  std::ofstream(dir.path() / "report.pdf", std::ios::binary) << mat::testing::make_pdf(pages);
  const mat::tools::ToolRegistry registry = mat::tools::builtin_registry();
  const mat::tools::ToolContext context{dir.path()};
  size_t chars = 0;
  for (auto _ : state) {
    chars = registry.call("inspect_file_as_text", {{"file_path", "report.pdf"}}, context)
                .get<std::string>()
                .size();
  }
  state.counters["chars_out"] = static_cast<double>(chars);
}
BENCHMARK(BM_InspectPdf100Pages)->Unit(benchmark::kMillisecond)->UseRealTime();

// A work dir with what each tool reads: a CSV, a small image, a search corpus of 200 documents.
struct ToolScene {
  mat::core::TempDir dir;
  fs::path work = dir.path() / "work";

  ToolScene() {
    fs::create_directories(work);
    std::ofstream(work / "sales.csv") << "month,units\nJan,1200\nFeb,950\nMar,1010\n";
    cv::imwrite((work / "small.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(200)));
    const fs::path docs = dir.path() / "docs";
    fs::create_directories(docs);
    for (int i = 0; i < 200; ++i) {
      std::ofstream(docs / ("doc" + std::to_string(i) + ".txt"))
          << "Document " << i << " about volcano " << i % 17 << " and river " << i % 23 << ".\n";
    }
    mat::tools::build_corpus(docs, dir.path() / "corpus.db");
  }
};

struct ToolCase {
  const char* tool;
  const char* python_args;
  Json args;
};

const ToolCase kCases[] = {
    {"inspect_file_as_text", "file_path='sales.csv'", {{"file_path", "sales.csv"}}},
    {"web_search", "query='volcano river'", {{"query", "volcano river"}}},
    {"facedetection", "image_path='small.png'", {{"image_path", "small.png"}}},
};

// Per call: direct_us (the registry called in C++), bridged_us (called from the sandbox's
// Python), overhead_us (their difference) and the ratio.
void BM_ToolBridge(benchmark::State& state) {
  const ToolCase& c = kCases[state.range(0)];
  state.SetLabel(c.tool);
  ToolScene scene;
  ::setenv("MAT_SEARCH_DB", (scene.dir.path() / "corpus.db").c_str(), 1);
  const mat::tools::ToolRegistry registry = mat::tools::builtin_registry();
  const mat::tools::ToolContext context{scene.work};

  mat::sandbox::Options options;
  options.work_dir = scene.work;
  options.tools = {{c.tool, registry.find(c.tool)->spec().input_names()}};
  mat::sandbox::Sandbox box(options, [&](const std::string& name, const Json& args,
                                         mat::sandbox::Deadline) {
    return mat::sandbox::ToolOutcome{
        .ok = true, .value = registry.call(name, args, context), .error = "", .ends_run = false};
  });
  const std::string code = "for _ in range(" + std::to_string(kCallsPerStep) + "):\n    " + c.tool +
                           "(" + c.python_args + ")";
  double direct_ms = 0;
  double bridged_ms = 0;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < kCallsPerStep; ++i) registry.call(c.tool, c.args, context);
    direct_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const mat::sandbox::ExecResult result = box.execute(code);
    if (result.error) state.SkipWithError(result.error->c_str());
    bridged_ms += result.exec_ms;
  }
  const double calls = static_cast<double>(state.iterations()) * kCallsPerStep;
  state.counters["direct_us"] = direct_ms * 1000 / calls;
  state.counters["bridged_us"] = bridged_ms * 1000 / calls;
  state.counters["overhead_us"] = (bridged_ms - direct_ms) * 1000 / calls;
  state.counters["bridged_over_direct"] = bridged_ms / direct_ms;
}
BENCHMARK(BM_ToolBridge)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

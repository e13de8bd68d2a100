// The image tools on one-megapixel inputs: OCR of a page of text, face detection and segmentation
// on a photo.
// References in the same run, so that the ratio survives a noisy machine: Tesseract's own command
// line on the same page (it pays a process start and a model load per page, which the tool pays
// once), and a bare OpenCV cascade call on the same pixels (what the tool adds is reading the
// file safely, decoding and the checks).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <string>

#include "mat/core/temp_dir.h"
#include "mat/tools/registry.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kPortrait = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
constexpr const char* kCascade =
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

// A 1000 x 1000 page of printed-looking text.
void write_page(const fs::path& path) {
  cv::Mat page(1000, 1000, CV_8UC3, cv::Scalar::all(255));
  for (int line = 0; line < 24; ++line) {
    cv::putText(page, "Line " + std::to_string(line) + ": the quick brown fox jumps over 13 dogs",
                cv::Point(30, 50 + 38 * line), cv::FONT_HERSHEY_SIMPLEX, 0.8, cv::Scalar::all(0),
                2);
  }
  cv::imwrite(path.string(), page);
}

// The 512 x 600 portrait scaled to 1000 x 1171, about one megapixel.
cv::Mat photo() {
  cv::Mat image = cv::imread(kPortrait);
  cv::resize(image, image, cv::Size(1000, 1000 * image.rows / image.cols));
  return image;
}

struct Fixture {
  mat::core::TempDir dir{"mat-tools-bench"};
  mat::tools::ToolRegistry registry = mat::tools::builtin_registry();
  mat::tools::ToolContext context{dir.path()};
  Fixture() {
    write_page(dir.path() / "page.png");
    cv::imwrite((dir.path() / "photo.png").string(), photo());
  }
};

Fixture& fixture() {
  static Fixture shared;
  return shared;
}

void BM_OcrTool(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.registry.call("ocr", {{"image_path", "page.png"}}, f.context));
  }
}
BENCHMARK(BM_OcrTool)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TesseractCommandLine(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string command =
      "tesseract " + (f.dir.path() / "page.png").string() + " - >/dev/null 2>&1";
  for (auto _ : state) {
    if (std::system(command.c_str()) != 0) state.SkipWithError("tesseract failed");
  }
}
BENCHMARK(BM_TesseractCommandLine)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FaceDetectionTool(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        f.registry.call("facedetection", {{"image_path", "photo.png"}}, f.context));
  }
}
BENCHMARK(BM_FaceDetectionTool)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_BareCascade(benchmark::State& state) {
  cv::CascadeClassifier cascade(kCascade);
  cv::Mat gray;
  cv::cvtColor(photo(), gray, cv::COLOR_BGR2GRAY);
  cv::equalizeHist(gray, gray);
  std::vector<cv::Rect> faces;
  for (auto _ : state) {
    cascade.detectMultiScale(gray, faces, 1.1, 5, 0, cv::Size(25, 25));
    benchmark::DoNotOptimize(faces);
  }
}
BENCHMARK(BM_BareCascade)->Unit(benchmark::kMillisecond)->UseRealTime();

// Segmentation of the one-megapixel photo: around the face (the usual call, a box from
// facedetection) and of the whole image (no box: the most work it does).
void BM_SegmentationTool(benchmark::State& state) {
  Fixture& f = fixture();
  const bool whole_image = state.range(0) == 1;
  const mat::core::Json args =
      whole_image ? mat::core::Json{{"image_path", "photo.png"}}
                  : mat::core::Json{{"image_path", "photo.png"}, {"boxes", {{291, 195, 742, 646}}}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.registry.call("segmentation", args, f.context));
  }
  state.SetLabel(whole_image ? "whole image" : "face box");
}
BENCHMARK(BM_SegmentationTool)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

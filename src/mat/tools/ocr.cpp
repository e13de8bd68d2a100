// ocr (MAT's name): Tesseract through libtesseract. The language comes from MAT_OCR_LANG
// ("eng" by default, "eng+deu" for several), the language data from Tesseract's own search path
// (TESSDATA_PREFIX, else Debian's /usr/share/tesseract-ocr/5/tessdata).
#include <tesseract/baseapi.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <opencv2/imgproc.hpp>

#include "mat/tools/builtin_tools.h"
#include "mat/tools/image_io.h"

namespace mat::tools {
namespace {

std::string language() {
  const char* configured = std::getenv("MAT_OCR_LANG");
  return configured != nullptr && *configured != '\0' ? configured : "eng";
}

std::string trimmed(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class OcrTool : public Tool {
 public:
  OcrTool() : language_(language()), api_(std::make_unique<tesseract::TessBaseAPI>()) {
    if (api_->Init(nullptr, language_.c_str()) != 0) {
      problem_ = "Tesseract has no language data for '" + language_ +
                 "': install it (Debian: apt-get install tesseract-ocr-" + language_ +
                 ") or set MAT_OCR_LANG / TESSDATA_PREFIX";
    }
    api_->SetVariable("debug_file", "/dev/null");  // no warnings on mat's stderr
  }
  ~OcrTool() override { api_->End(); }

  const ToolSpec& spec() const override { return spec_; }
  std::optional<std::string> unavailable() const override { return problem_; }

  core::Json call(const core::Json& args, const ToolContext& context) const override {
    const cv::Mat image = load_image(context, args.at("image_path").get<std::string>());
    cv::Mat gray;
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    core::Json lines = core::Json::array();
    std::string text;
    const std::lock_guard lock(mutex_);  // one TessBaseAPI: it holds the page being read
    api_->SetImage(gray.data, gray.cols, gray.rows, 1, static_cast<int>(gray.step));
    api_->SetSourceResolution(300);  // screenshots carry no resolution; 300 dpi suits print
    if (api_->Recognize(nullptr) != 0) {
      throw ToolError("Tesseract could not read '" + args.at("image_path").get<std::string>() +
                      "'");
    }
    const std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
    if (it) {
      do {
        const std::unique_ptr<char[]> line(it->GetUTF8Text(tesseract::RIL_TEXTLINE));
        const std::string line_text = trimmed(line.get());
        if (line_text.empty()) continue;
        int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
        it->BoundingBox(tesseract::RIL_TEXTLINE, &x1, &y1, &x2, &y2);
        const double confidence = it->Confidence(tesseract::RIL_TEXTLINE);
        lines.push_back({{"text", line_text},
                         {"box", {x1, y1, x2, y2}},
                         {"confidence", std::round(confidence * 10) / 10}});
        text += (text.empty() ? "" : "\n") + line_text;
      } while (it->Next(tesseract::RIL_TEXTLINE));
    }
    api_->Clear();
    return {{"text", text}, {"lines", lines}};
  }

 private:
  std::string language_;
  std::unique_ptr<tesseract::TessBaseAPI> api_;
  mutable std::mutex mutex_;
  std::optional<std::string> problem_;
  ToolSpec spec_{
      .name = "ocr",
      .description =
          "Reads the text in an image (a document, a screenshot, a sign). Returns a dict: 'text' "
          "is all the text, line by line; 'lines' lists each line as {'text', 'box': [x1, y1, x2, "
          "y2] in pixels, 'confidence': 0-100}.",
      .inputs = {image_path_input()},
      .output_type = ValueType::kObject,
      .ends_run = false};
};

}  // namespace

std::unique_ptr<Tool> make_ocr_tool() {
  return std::make_unique<OcrTool>();
}

}  // namespace mat::tools

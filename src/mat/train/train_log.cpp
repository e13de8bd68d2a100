#include "mat/train/train_log.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "mat/core/error.h"

namespace mat::train {

core::Json to_json(const StepRecord& r) {
  core::Json json = {{"step", r.step},
                     {"loss", r.loss},
                     {"lr", r.lr},
                     {"grad_norm", r.grad_norm},
                     {"tokens_per_s", r.tokens_per_s}};
  if (r.eval_loss) json["eval_loss"] = *r.eval_loss;
  return json;
}

StepRecord step_record_from_json(const core::Json& json) {
  StepRecord r;
  r.step = json.at("step").get<std::int64_t>();
  r.loss = json.at("loss").get<double>();
  r.lr = json.at("lr").get<double>();
  r.grad_norm = json.at("grad_norm").get<double>();
  r.tokens_per_s = json.at("tokens_per_s").get<double>();
  if (json.contains("eval_loss")) r.eval_loss = json["eval_loss"].get<double>();
  return r;
}

std::vector<StepRecord> read_train_log(const std::filesystem::path& path) {
  std::vector<StepRecord> out;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      out.push_back(step_record_from_json(core::Json::parse(line)));
    } catch (const core::Json::exception& e) {
      throw core::Error(path.string() + ":" + std::to_string(number) + ": not a step record (" +
                        e.what() + "); delete the line or the file");
    }
  }
  return out;
}

void write_train_log(const std::filesystem::path& path, const std::vector<StepRecord>& records) {
  std::ofstream out(path, std::ios::trunc);
  for (const StepRecord& r : records) out << to_json(r).dump() << '\n';
  if (!out) throw core::Error(path.string() + ": cannot write the training log");
}

void append_train_log(const std::filesystem::path& path, const StepRecord& record) {
  std::ofstream out(path, std::ios::app);
  out << to_json(record).dump() << '\n' << std::flush;
  if (!out) throw core::Error(path.string() + ": cannot append to the training log");
}

namespace {

std::string formatted(const char* format, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
std::string number(double v) {
  return formatted("%.1f", v);
}  // a coordinate
std::string label(double v) {
  return formatted("%.3g", v);
}  // a loss on the axis

}  // namespace

std::string loss_chart_svg(const std::vector<StepRecord>& records) {
  constexpr double kWidth = 640, kHeight = 360, kLeft = 56, kRight = 16, kTop = 16, kBottom = 40;
  double lo = 0, hi = 1;
  std::int64_t last_step = 1;
  bool first = true;
  for (const StepRecord& r : records) {
    for (double v : {r.loss, r.eval_loss.value_or(r.loss)}) {
      lo = first ? v : std::min(lo, v);
      hi = first ? v : std::max(hi, v);
      first = false;
    }
    last_step = std::max(last_step, r.step);
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  const auto x = [&](std::int64_t step) {
    return kLeft +
           (kWidth - kLeft - kRight) * static_cast<double>(step) / static_cast<double>(last_step);
  };
  const auto y = [&](double v) { return kTop + (kHeight - kTop - kBottom) * (hi - v) / (hi - lo); };
  std::ostringstream train, eval;
  for (const StepRecord& r : records) {
    train << (train.tellp() == 0 ? "" : " ") << number(x(r.step)) << ',' << number(y(r.loss));
    if (r.eval_loss) {
      eval << (eval.tellp() == 0 ? "" : " ") << number(x(r.step)) << ',' << number(y(*r.eval_loss));
    }
  }
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<line x1=\"" << kLeft << "\" y1=\"" << kHeight - kBottom << "\" x2=\"" << kWidth - kRight
      << "\" y2=\"" << kHeight - kBottom << "\" stroke=\"black\"/>\n"
      << "<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\""
      << kHeight - kBottom << "\" stroke=\"black\"/>\n"
      << "<text x=\"4\" y=\"" << kTop + 4 << "\">" << label(hi) << "</text>\n"
      << "<text x=\"4\" y=\"" << kHeight - kBottom << "\">" << label(lo) << "</text>\n"
      << "<text x=\"" << kWidth - kRight - 60 << "\" y=\"" << kHeight - 12 << "\">step "
      << last_step << "</text>\n"
      << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"" << train.str()
      << "\"/>\n"
      << "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"" << eval.str()
      << "\"/>\n"
      << "<text x=\"" << kLeft + 8 << "\" y=\"" << kHeight - 12
      << "\" fill=\"#1f77b4\">train loss</text>\n"
      << "<text x=\"" << kLeft + 90 << "\" y=\"" << kHeight - 12
      << "\" fill=\"#d62728\">eval loss</text>\n"
      << "</svg>\n";
  return svg.str();
}

}  // namespace mat::train

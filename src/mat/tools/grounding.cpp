#include "mat/tools/grounding.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "mat/core/json.h"

namespace mat::tools {
namespace {

// Grounding replies are a few lines; anything much longer is not one, and the scans below stay
// cheap on whatever a server sends.
constexpr size_t kMaxReplyBytes = 64 * 1024;
constexpr size_t kMaxLabelChars = 60;
constexpr double kFrameTolerance = 0.02;  // coordinates this far outside the frame are rounding

std::string quoted(std::string_view reply) {
  constexpr size_t kShown = 300;
  std::string text(reply.substr(0, kShown));
  if (reply.size() > kShown) text += "...";
  return "\"" + text + "\"";
}

std::string trimmed(std::string_view text) {
  const auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

void remove_all(std::string& text, std::string_view token) {
  for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
    text.erase(at, token.size());
  }
}

GroundedBox checked(GroundedBox box, std::string_view reply) {
  if (!(box.x2 > box.x1 && box.y2 > box.y1)) {
    char coordinates[128];
    std::snprintf(coordinates, sizeof coordinates, "[%g, %g, %g, %g]", box.x1, box.y1, box.x2,
                  box.y2);
    throw GroundingError(
        std::string("the model's box ") + coordinates +
        " is empty or reversed (x2 must exceed x1 and y2 exceed y1) in its reply " + quoted(reply));
  }
  return box;
}

// --- Qwen2-VL: "(x1,y1),(x2,y2)" pairs on a 0-1000 grid ---------------------------------------

class Cursor {
 public:
  Cursor(std::string_view text, size_t at) : text_(text), at_(at) {}
  size_t position() const { return at_; }

  void skip_spaces() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
  }
  bool take(char c) {
    skip_spaces();
    if (at_ >= text_.size() || text_[at_] != c) return false;
    ++at_;
    return true;
  }
  std::optional<double> number() {
    skip_spaces();
    const size_t start = at_;
    while (at_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[at_])) || text_[at_] == '.')) {
      ++at_;
    }
    if (at_ == start || at_ - start > 12) return std::nullopt;
    return std::stod(std::string(text_.substr(start, at_ - start)));
  }
  // "(a,b)"
  bool point(double& x, double& y) {
    if (!take('(')) return false;
    const auto a = number();
    if (!a || !take(',')) return false;
    const auto b = number();
    if (!b || !take(')')) return false;
    x = *a;
    y = *b;
    return true;
  }

 private:
  std::string_view text_;
  size_t at_;
};

// The label written before a box: between the object-reference tokens, or, where a server
// dropped those, the short phrase since the previous box.
std::string label_before(std::string_view text) {
  constexpr std::string_view kRefStart = "<|object_ref_start|>";
  if (const size_t ref = text.rfind(kRefStart); ref != std::string_view::npos) {
    text.remove_prefix(ref + kRefStart.size());
    text = text.substr(0, text.find("<|object_ref_end|>"));
  }
  std::string label(text);
  remove_all(label, "<|box_end|>");
  remove_all(label, "<|box_start|>");
  label = trimmed(label);
  while (!label.empty() && (label.back() == ':' || label.back() == ',')) label.pop_back();
  label = trimmed(label);
  const bool short_phrase = label.size() <= kMaxLabelChars && label.find('\n') == std::string::npos;
  return short_phrase ? label : "";
}

std::vector<GroundedBox> grid_boxes(std::string_view reply) {
  std::vector<GroundedBox> boxes;
  size_t previous_end = 0;
  for (size_t at = reply.find('('); at != std::string_view::npos; at = reply.find('(', at + 1)) {
    Cursor cursor(reply, at);
    GroundedBox box;
    if (!cursor.point(box.x1, box.y1) || !cursor.take(',') || !cursor.point(box.x2, box.y2)) {
      continue;
    }
    box.label = label_before(reply.substr(previous_end, at - previous_end));
    boxes.push_back(checked(box, reply));
    previous_end = at = cursor.position();
  }
  return boxes;
}

// --- JSON values anywhere in the reply ------------------------------------------------------

// The end (one past the closing bracket) of the JSON array or object that starts at `at`, or
// npos when it is not closed. Brackets inside strings do not count.
size_t matching_close(std::string_view text, size_t at) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = at; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

bool is_four_numbers(const core::Json& value) {
  return value.is_array() && value.size() == 4 &&
         std::all_of(value.begin(), value.end(), [](const core::Json& v) {
           return v.is_number() && std::isfinite(v.get<double>());
         });
}

std::string label_of(const core::Json& object) {
  for (const char* key : {"label", "name", "object", "class"}) {
    if (object.contains(key) && object[key].is_string()) return object[key].get<std::string>();
  }
  return "";
}

void collect_boxes(const core::Json& value, std::string_view reply,
                   std::vector<GroundedBox>& boxes) {
  if (is_four_numbers(value)) {
    boxes.push_back(checked({value[0].get<double>(), value[1].get<double>(), value[2].get<double>(),
                             value[3].get<double>(), ""},
                            reply));
    return;
  }
  if (value.is_array()) {
    for (const core::Json& item : value) collect_boxes(item, reply, boxes);
    return;
  }
  if (!value.is_object()) return;
  for (const char* key : {"bbox_2d", "bbox", "box"}) {
    if (!value.contains(key)) continue;
    if (!is_four_numbers(value[key])) {
      throw GroundingError(std::string("the model's '") + key + "' is " + value[key].dump() +
                           ", not four numbers [x1, y1, x2, y2], in its reply " + quoted(reply));
    }
    GroundedBox box = checked({value[key][0].get<double>(), value[key][1].get<double>(),
                               value[key][2].get<double>(), value[key][3].get<double>(), ""},
                              reply);
    box.label = label_of(value);
    boxes.push_back(std::move(box));
    return;
  }
  for (const char* key : {"boxes", "objects", "results", "detections"}) {
    if (value.contains(key)) collect_boxes(value[key], reply, boxes);
  }
}

// The boxes of every JSON value in `reply`; nullopt when it holds none.
std::optional<std::vector<GroundedBox>> json_boxes(std::string_view reply) {
  std::optional<std::vector<GroundedBox>> boxes;
  size_t at = 0;
  while ((at = reply.find_first_of("[{", at)) != std::string_view::npos) {
    const size_t end = matching_close(reply, at);
    if (end == std::string_view::npos) break;
    const std::optional<core::Json> value = core::parse_untrusted_json(reply.substr(at, end - at));
    if (!value) {
      ++at;  // not JSON from here ("[see below]"); a value may start inside
      continue;
    }
    if (!boxes) boxes.emplace();
    collect_boxes(*value, reply, *boxes);
    at = end;
  }
  return boxes;
}

// Whether a reply without boxes says that there is no such object ("There is no cat.").
bool says_none(std::string_view reply) {
  static constexpr std::string_view kNegations[] = {"no",    "none",  "not",    "nothing", "cannot",
                                                    "can't", "isn't", "aren't", "doesn't", "don't"};
  std::string word;
  for (size_t i = 0; i <= reply.size(); ++i) {
    const char c = i < reply.size() ? reply[i] : ' ';
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    for (const std::string_view negation : kNegations) {
      if (word == negation) return true;
    }
    word.clear();
  }
  return false;
}

bool within_unit(const std::vector<GroundedBox>& boxes) {
  return std::all_of(boxes.begin(), boxes.end(), [](const GroundedBox& b) {
    return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 1.0 && b.y2 <= 1.0;
  });
}

}  // namespace

Grounding parse_grounding(std::string_view reply) {
  if (reply.size() > kMaxReplyBytes) {
    throw GroundingError("the model's reply is " + std::to_string(reply.size()) +
                         " bytes long, not a list of boxes: " + quoted(reply));
  }
  if (std::vector<GroundedBox> boxes = grid_boxes(reply); !boxes.empty()) {
    return {BoxFrame::kGrid1000, std::move(boxes)};
  }
  if (std::optional<std::vector<GroundedBox>> boxes = json_boxes(reply)) {
    const BoxFrame frame =
        !boxes->empty() && within_unit(*boxes) ? BoxFrame::kUnit : BoxFrame::kPixels;
    return {frame, std::move(*boxes)};
  }
  if (says_none(reply)) return {BoxFrame::kPixels, {}};
  throw GroundingError("no boxes could be read from the model's reply " + quoted(reply) +
                       ": expected a JSON list of {\"bbox_2d\": [x1, y1, x2, y2]} objects, "
                       "Qwen2-VL's (x1,y1),(x2,y2) boxes, or [] when there is none");
}

PixelBox to_original_pixels(const GroundedBox& box, BoxFrame frame, int shown_width,
                            int shown_height, int width, int height) {
  double frame_width = shown_width;
  double frame_height = shown_height;
  if (frame == BoxFrame::kGrid1000) frame_width = frame_height = 1000;
  if (frame == BoxFrame::kUnit) frame_width = frame_height = 1;
  const auto outside = [&](double v, double extent) {
    return v < -kFrameTolerance * extent || v > (1 + kFrameTolerance) * extent;
  };
  if (outside(box.x1, frame_width) || outside(box.x2, frame_width) ||
      outside(box.y1, frame_height) || outside(box.y2, frame_height)) {
    char text[160];
    std::snprintf(text, sizeof text, "the model's box [%g, %g, %g, %g] lies outside the %g x %g",
                  box.x1, box.y1, box.x2, box.y2, frame_width, frame_height);
    throw GroundingError(std::string(text) + " frame it was asked to answer in");
  }
  const auto scaled = [](double v, double extent, int pixels) {
    const long rounded = std::lround(v / extent * pixels);
    return static_cast<int>(std::clamp<long>(rounded, 0, pixels));
  };
  PixelBox pixels{scaled(box.x1, frame_width, width), scaled(box.y1, frame_height, height),
                  scaled(box.x2, frame_width, width), scaled(box.y2, frame_height, height)};
  if (pixels.x2 <= pixels.x1 || pixels.y2 <= pixels.y1) {
    throw GroundingError("the model's box is smaller than a pixel of the image");
  }
  return pixels;
}

}  // namespace mat::tools

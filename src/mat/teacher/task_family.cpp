#include "mat/teacher/task_family.h"

#include <cstdio>
#include <regex>

#include "mat/core/error.h"
#include "mat/synth/prompts.h"
#include "mat/teacher/families.h"

namespace mat::teacher {
namespace {

std::string four_digits(int number) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d", number);
  return text;
}

// Does task `number` of `family` use a phrasing among `wanted`? Decided by the first draw, so
// it is cheap to ask before building the task.
int phrasing_of(const TaskFamily& family, std::uint64_t seed, int number) {
  Rng rng(hash_of(seed, {"task", family.name(), std::to_string(number)}));
  return rng.below(static_cast<int>(family.phrasings().size()));
}

bool allowed(const TaskFamily& family, int phrasing, Phrasings wanted) {
  const bool heldout =
      phrasing >= static_cast<int>(family.phrasings().size()) - family.heldout_phrasings();
  return wanted == Phrasings::kAll || heldout == (wanted == Phrasings::kHeldout);
}

// `\b(stem|stem)_(\d{4})(\.ext|\.ext)\b` for `family`'s file names.
std::regex file_pattern(const TaskFamily& family) {
  std::string stems;
  for (const std::string& stem : family.stems()) stems += (stems.empty() ? "" : "|") + stem;
  std::string extensions;
  for (const std::string& type : family.types()) {
    extensions += (extensions.empty() ? "\\" : "|\\") + extension_of(type);
  }
  return std::regex("\\b(" + stems + ")_([0-9]{4})(" + extensions + ")\\b");
}

}  // namespace

Phrasings parse_phrasings(const std::string& text) {
  if (text == "train") return Phrasings::kTrain;
  if (text == "heldout") return Phrasings::kHeldout;
  if (text == "all") return Phrasings::kAll;
  throw core::Error("unknown phrasing set \"" + text + "\": use train, heldout or all");
}

std::string extension_of(const std::string& type) {
  return type == "image" ? ".png" : "." + type;
}

std::string python_money(int cents) {
  std::string text = std::to_string(cents / 100) + ".";
  if (cents % 100 == 0) return text + "0";
  char digits[16];
  std::snprintf(digits, sizeof digits, "%02d", cents % 100);
  text += digits;
  if (text.back() == '0') text.pop_back();
  return text;
}

TaskFile pool_file(TaskDraw& draw, const std::string& kind) {
  TaskFile file;
  file.type = "image";
  file.name = draw.file;
  file.image = pool_image(draw.seed, kind, draw.rng.below(kPoolImagesPerKind));
  file.content = file.image->caption;
  return file;
}

const std::vector<std::unique_ptr<TaskFamily>>& families() {
  static const std::vector<std::unique_ptr<TaskFamily>> all = [] {
    std::vector<std::unique_ptr<TaskFamily>> list;
    list.push_back(make_receipt_total_family());
    list.push_back(make_event_days_family());
    list.push_back(make_face_tickets_family());
    list.push_back(make_face_boxes_family());
    list.push_back(make_table_sum_family());
    list.push_back(make_document_difference_family());
    list.push_back(make_landmark_year_family());
    return list;
  }();
  return all;
}

const TaskFamily& family_named(const std::string& name) {
  for (const auto& family : families()) {
    if (family->name() == name) return *family;
  }
  throw core::Error("the teacher has no task family \"" + name + "\"");
}

Task make_task(const TaskFamily& family, std::uint64_t seed, int number) {
  TaskDraw draw;
  draw.seed = seed;
  draw.number = number;
  draw.rng = Rng(hash_of(seed, {"task", family.name(), std::to_string(number)}));
  draw.phrasing = draw.rng.below(static_cast<int>(family.phrasings().size()));
  draw.type = draw.rng.pick(family.types());
  draw.file = draw.rng.pick(family.stems()) + "_" + four_digits(number) + extension_of(draw.type);
  Task task = family.build(draw);
  task.family = family.name();
  task.number = number;
  task.phrasing = draw.phrasing;
  task.heldout = !allowed(family, draw.phrasing, Phrasings::kTrain);
  draw.slots["file"] = draw.file;
  task.query = synth::fill(family.phrasings()[static_cast<size_t>(draw.phrasing)], draw.slots);
  return task;
}

Task draw_task(std::uint64_t seed, Rng& rng, Phrasings phrasings) {
  for (;;) {
    const TaskFamily& family =
        *families()[static_cast<size_t>(rng.below(static_cast<int>(families().size())))];
    const int number = rng.below(kNumbersPerFamily);
    if (allowed(family, phrasing_of(family, seed, number), phrasings)) {
      return make_task(family, seed, number);
    }
  }
}

std::optional<Task> find_task(std::string_view text, std::uint64_t seed) {
  static const std::vector<std::regex> patterns = [] {
    std::vector<std::regex> list;
    for (const auto& family : families()) list.push_back(file_pattern(*family));
    return list;
  }();
  const std::string haystack(text);
  for (size_t i = 0; i < patterns.size(); ++i) {
    for (auto it = std::sregex_iterator(haystack.begin(), haystack.end(), patterns[i]);
         it != std::sregex_iterator(); ++it) {
      Task task = make_task(*families()[i], seed, std::stoi((*it)[2].str()));
      // Only the name this task really gets: another stem or type is not this family's task.
      if (task.files.front().name == (*it)[0].str()) return task;
    }
  }
  return std::nullopt;
}

}  // namespace mat::teacher

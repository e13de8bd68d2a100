// Family "document_difference": read a docx, pdf or txt stock list with inspect_file_as_text and
// subtract one count from another.
#include "mat/teacher/families.h"
#include "mat/teacher/file_writers.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

const std::vector<std::string> kItems{"Bolts",  "Nuts",  "Screws", "Washers",
                                      "Hinges", "Nails", "Rivets", "Brackets"};
const std::vector<std::string> kTitles{"Stock count", "Warehouse inventory", "Shelf report"};

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class DocumentDifference : public TaskFamily {
 public:
  std::string name() const override { return "document_difference"; }
  std::vector<std::string> stems() const override { return {"stock", "inventory", "shelf"}; }
  std::vector<std::string> types() const override { return {"docx", "pdf", "txt"}; }
  std::vector<std::string> phrasings() const override {
    return {"How many more {{a}} than {{b}} are listed in {{file}}?",
            "According to {{file}}, by how much does the number of {{a}} exceed the number of "
            "{{b}}?",
            "Read {{file}} and tell me the difference between the {{a}} count and the {{b}} "
            "count.",
            "What is the count of {{a}} minus the count of {{b}} in the document {{file}}?",
            "The list {{file}} counts {{a}} and {{b}}: what is the gap between the two?"};
  }

  Task build(TaskDraw& draw) const override {
    const std::vector<std::string> items = draw.rng.distinct(kItems, draw.rng.between(4, 6));
    std::vector<int> counts;
    for (size_t i = 0; i < items.size(); ++i) counts.push_back(draw.rng.between(10, 400));
    // The first two are asked about, the larger first.
    if (counts[0] == counts[1]) ++counts[0];
    const size_t a = counts[0] > counts[1] ? 0 : 1;
    const size_t b = 1 - a;
    std::vector<std::string> lines{draw.rng.pick(kTitles)};
    std::vector<std::string> bad_lines = lines;
    for (size_t i = 0; i < items.size(); ++i) {
      lines.push_back(items[i] + ": " + std::to_string(counts[i]));
      if (i != b) bad_lines.push_back(lines.back());  // the inconsistent file lacks one count
    }
    draw.slots["a"] = lower(items[a]);
    draw.slots["b"] = lower(items[b]);

    Task task;
    TaskFile file;
    file.type = draw.type;
    file.name = draw.file;
    for (const std::string& line : lines) file.content += line + "\n";
    file.code = text_writer(draw.file, draw.type, lines);
    file.bad_code = text_writer(draw.file, draw.type, bad_lines);
    file.evidence = {items[a] + ": ", items[b] + ": "};
    task.files.push_back(std::move(file));
    task.answer = std::to_string(counts[a] - counts[b]);
    task.tools = {"inspect_file_as_text"};
    task.solution = {
        inspect_step("document"),
        // The items are taken from the task's text in the order it names them (every phrasing
        // names the larger first), not copied into the code: a controller of a few million
        // parameters does not learn to copy a word from its context (it wrote one memorised
        // pair of names whatever the task asked).
        answer_step("The document lists counts as 'Name: number'. I will subtract the count of "
                    "the second item the task names from that of the first.",
                    "import re\ncounts = {name.lower(): int(value) for name, value in "
                    "re.findall(r\"(\\w+): (\\d+)\", text)}\nfirst, second = [word for word in "
                    "re.findall(r\"\\w+\", task.lower()) if word in counts][:2]\nanswer = "
                    "counts[first] - counts[second]")};
    task.reference_calls = {{"inspect_file_as_text", {{"file_path", draw.file}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_document_difference_family() {
  return std::make_unique<DocumentDifference>();
}

}  // namespace mat::teacher

// Family "landmark_year": a note names a landmark; read it with inspect_file_as_text, search the
// offline corpus with web_search for what the note says, and take the year it was built from the
// best result. The name travels from the note to the search in a variable: nothing is retyped.
#include "mat/teacher/families.h"
#include "mat/teacher/file_writers.h"
#include "mat/teacher/landmarks.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

const std::vector<std::string> kTitles{"Trip notes", "Weekend plan", "Visit list"};
const std::vector<std::string> kLeads{"Next stop: ", "Meet the group at ", "Tour starts at "};

class LandmarkYear : public TaskFamily {
 public:
  std::string name() const override { return "landmark_year"; }
  std::vector<std::string> stems() const override { return {"trip", "memo", "itinerary"}; }
  std::vector<std::string> types() const override { return {"txt", "docx", "pdf"}; }
  std::vector<std::string> phrasings() const override {
    return {"In which year was the place named in {{file}} built? Search for it.",
            "{{file}} mentions a landmark. Look it up and tell me the year it was built.",
            "Find out when the building in the note {{file}} was built.",
            "Use a web search to get the construction year of the landmark that {{file}} names.",
            "The memo {{file}} refers to a place; what year was that place built?"};
  }

  Task build(TaskDraw& draw) const override {
    const Landmark& landmark = draw.rng.pick(landmarks());
    const std::string title = draw.rng.pick(kTitles);
    const std::string lead = draw.rng.pick(kLeads);

    Task task;
    TaskFile file;
    file.type = draw.type;
    file.name = draw.file;
    const std::vector<std::string> lines{title, lead + landmark.name};
    for (const std::string& line : lines) file.content += line + "\n";
    file.code = text_writer(draw.file, draw.type, lines);
    // The inconsistent note names no place at all.
    file.bad_code = text_writer(draw.file, draw.type, {title, lead + "to be decided"});
    file.evidence = {landmark.name};
    task.files.push_back(std::move(file));
    task.answer = std::to_string(landmark.year);
    task.tools = {"inspect_file_as_text", "web_search"};
    task.solution = {
        inspect_step("note"),
        {"The note names the place. I will search for the note's text and print the best "
         "result.",
         "results = web_search(query=text)\nprint(results[0][\"title\"], "
         "results[0][\"snippet\"])"},
        answer_step("The result says when it was built. I will take that year from it.",
                    "import re\nanswer = int(re.search(r\"built in (\\d{4})\", "
                    "results[0][\"snippet\"]).group(1))")};
    task.reference_calls = {{"inspect_file_as_text", {{"file_path", draw.file}}},
                            {"GoogleSearch", {{"query", landmark.name}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_landmark_year_family() {
  return std::make_unique<LandmarkYear>();
}

}  // namespace mat::teacher

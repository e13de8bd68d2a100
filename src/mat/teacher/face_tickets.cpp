// Family "face_tickets": count the people in a photo with facedetection, then multiply.
#include "mat/teacher/families.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

const std::vector<std::string> kThings{"tickets",   "badges", "bottles",
                                       "brochures", "meals",  "pens"};

class FaceTickets : public TaskFamily {
 public:
  std::string name() const override { return "face_tickets"; }
  std::vector<std::string> stems() const override { return {"group", "team", "crew", "class"}; }
  std::vector<std::string> types() const override { return {"image"}; }
  std::vector<std::string> phrasings() const override {
    return {
        "Each person in {{file}} needs {{k}} {{things}}. How many {{things}} are needed "
        "altogether?",
        "How many {{things}} do I need if everyone in the photo {{file}} gets {{k}}?",
        "Everyone shown in {{file}} receives {{k}} {{things}}. What is the total number of "
        "{{things}}?",
        "Count the people in {{file}}; each of them takes {{k}} {{things}}. How many "
        "{{things}} is that?",
        "If the people pictured in {{file}} each take {{k}} {{things}}, how many {{things}} "
        "go out?"};
  }

  Task build(TaskDraw& draw) const override {
    Task task;
    task.files.push_back(pool_file(draw, pool_kind::kFaces));
    const int k = draw.rng.between(2, 9);
    draw.slots["k"] = std::to_string(k);
    draw.slots["things"] = draw.rng.pick(kThings);
    task.answer = std::to_string(task.files.front().image->values.at(0) * k);
    task.tools = {"facedetection"};
    // The first step already differs from face_boxes' (people, not faces), so that the second
    // follows from the controller's own first step rather than from the task many tokens back.
    // The number each person gets is taken from the task's text, not copied into the code.
    task.solution = {
        {"I need the number of people in the photo first. I will count their faces with "
         "facedetection and print it.",
         std::string("people = facedetection(image_path=") + kTaskFile +
             ")\nprint(len(people), people)"},
        answer_step("I know how many people there are. I will take the number each gets from "
                    "the task and multiply.",
                    "import re\neach = int(re.findall(r\"\\b\\d+\\b\", task)[0])\nanswer = "
                    "len(people) * each")};
    task.reference_calls = {{"CountGivenObject", {{"image", draw.file}, {"text", "person"}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_face_tickets_family() {
  return std::make_unique<FaceTickets>();
}

}  // namespace mat::teacher

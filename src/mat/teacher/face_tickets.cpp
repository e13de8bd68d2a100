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
    task.solution = {face_step(), answer_step("I know how many people there are. Each needs " +
                                                  std::to_string(k) + ", so I multiply.",
                                              "answer = len(faces) * " + std::to_string(k))};
    task.reference_calls = {{"CountGivenObject", {{"image", draw.file}, {"text", "person"}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_face_tickets_family() {
  return std::make_unique<FaceTickets>();
}

}  // namespace mat::teacher

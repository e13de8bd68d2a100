// Family "face_boxes": find the faces in a photo, draw a box around each, say how many.
#include "mat/teacher/families.h"
#include "mat/teacher/solution_steps.h"

namespace mat::teacher {
namespace {

class FaceBoxes : public TaskFamily {
 public:
  std::string name() const override { return "face_boxes"; }
  std::vector<std::string> stems() const override { return {"photo", "snapshot", "portrait"}; }
  std::vector<std::string> types() const override { return {"image"}; }
  std::vector<std::string> phrasings() const override {
    return {"Draw a box around every face in {{file}} and tell me how many boxes you drew.",
            "Mark each face in {{file}} with a box. How many faces did you mark?",
            "Put a rectangle on every face you find in {{file}} and report the number of faces.",
            "Box the faces in the picture {{file}}; how many are there?",
            "Outline all the faces visible in {{file}} and give me their count."};
  }

  Task build(TaskDraw& draw) const override {
    Task task;
    task.files.push_back(pool_file(draw, pool_kind::kFaces));
    task.answer = std::to_string(task.files.front().image->values.at(0));
    task.tools = {"facedetection", "draw_box"};
    task.solution = {face_step(),
                     answer_step("I will draw a box around each face, one after the other, on the "
                                 "image the previous call made.",
                                 std::string("marked = ") + kTaskFile +
                                     "\nfor box in faces:\n    marked = draw_box(image_path="
                                     "marked, bbox=box)\nanswer = len(faces)")};
    task.reference_calls = {{"CountGivenObject", {{"image", draw.file}, {"text", "face"}}},
                            {"DrawBox", {{"image", draw.file}}}};
    return task;
  }
};

}  // namespace

std::unique_ptr<TaskFamily> make_face_boxes_family() {
  return std::make_unique<FaceBoxes>();
}

}  // namespace mat::teacher

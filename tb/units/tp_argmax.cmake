tokenpipe_rtl_test(MODULE tp_argmax SOURCES units/tp_argmax_test.cpp)
if(TARGET tp_argmax_test)  # the real-model test reads ../shared/models (golden/tests/real_models.h)
  target_compile_definitions(tp_argmax_test PRIVATE TOKENPIPE_MODELS_DIR="${TOKENPIPE_MODELS_DIR}")
endif()

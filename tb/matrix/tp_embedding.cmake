tokenpipe_rtl_test(MODULE tp_embedding SOURCES matrix/tp_embedding_test.cpp DEPS tp_fifo tp_weight_port)
if(TARGET tp_embedding_test)  # the real-model test reads ../shared/models (golden/tests/real_models.h)
  target_compile_definitions(tp_embedding_test PRIVATE TOKENPIPE_MODELS_DIR="${TOKENPIPE_MODELS_DIR}")
endif()

tokenpipe_rtl_test(MODULE tp_stream_checker SOURCES common/tp_stream_checker_test.cpp VERILATOR_ARGS -GWidth=8)

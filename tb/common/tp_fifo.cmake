tokenpipe_rtl_test(MODULE tp_fifo SOURCES common/tp_fifo_test.cpp)

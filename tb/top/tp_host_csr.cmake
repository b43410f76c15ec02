tokenpipe_rtl_test(MODULE tp_host_csr SOURCES top/tp_host_csr_test.cpp DEPS tp_fifo)

policy_load_test(3);

# A policy file in a sub-folder of policy/: loaded too.
policy_load_test(2);

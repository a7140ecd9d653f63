import sys

if "--filtering" in sys.argv[1:]:
    from .filtering import main as filtering_main

    sys.exit(filtering_main([a for a in sys.argv[1:] if a != "--filtering"]))

if "--facts" in sys.argv[1:]:
    from .facts_decisions import main as facts_main

    sys.exit(facts_main([a for a in sys.argv[1:] if a != "--facts"]))

from .runner import main

sys.exit(main())

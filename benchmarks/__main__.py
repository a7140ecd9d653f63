import sys

if "--filtering" in sys.argv[1:]:
    from .filtering import main as filtering_main

    sys.exit(filtering_main([a for a in sys.argv[1:] if a != "--filtering"]))

from .runner import main

sys.exit(main())

"""`python -m trainer`: see `trainer.cli`."""

from trainer.cli.main import main

raise SystemExit(main())

import sys

from bot.playground.demo import main

sys.exit(main())

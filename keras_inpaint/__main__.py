import sys

from keras_inpaint.cli import main

sys.exit(main())

import Litmus; print("litmus")
